// Readable views of what customers send besides text and media: shared contact cards, catalogue
// orders and the answers of WhatsApp Flows (`interactive.nfm_reply`). The payload is the Cloud
// API's own object as ingest stored it; anything missing or oddly typed is skipped, never thrown.
import { asObject } from "../format";
import type { Message } from "../types";

type Obj = Record<string, unknown>;

function text(value: unknown): string | null {
  return typeof value === "string" && value.trim() ? value : null;
}

function objects(value: unknown): Obj[] {
  return Array.isArray(value) ? value.map(asObject).filter((o): o is Obj => o !== null) : [];
}

export interface ContactCardView {
  name: string;
  org: string | null;
  phones: { label: string; number: string; tel: string }[];
  emails: string[];
  urls: string[];
}

/** Only web links are links: a card's `url` is the customer's input and may say `javascript:`. */
export function safeUrl(value: unknown): string | null {
  const raw = text(value);
  if (!raw) return null;
  try {
    const url = new URL(raw);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

export function contactCards(payload: unknown): ContactCardView[] {
  return objects(asObject(payload)?.contacts).map((card) => {
    const name = asObject(card.name);
    const formatted =
      text(name?.formatted_name) ??
      ([text(name?.first_name), text(name?.last_name)].filter(Boolean).join(" ") || "Contact");
    const org = asObject(card.org);
    return {
      name: formatted,
      org: [text(org?.company), text(org?.title)].filter(Boolean).join(" · ") || null,
      phones: objects(card.phones)
        .map((p) => ({ label: text(p.type) ?? "phone", number: text(p.phone) ?? text(p.wa_id) ?? "" }))
        .filter((p) => p.number)
        .map((p) => ({ ...p, tel: `tel:+${p.number.replace(/\D/g, "")}` })),
      emails: objects(card.emails)
        .map((e) => text(e.email))
        .filter((e): e is string => e !== null),
      urls: objects(card.urls)
        .map((u) => safeUrl(u.url))
        .filter((u): u is string => u !== null),
    };
  });
}

export interface OrderView {
  note: string | null;
  items: { product: string; quantity: number; price: string | null }[];
  total: string | null;
}

function money(amount: number, currency: string): string {
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(amount);
  } catch {
    return `${amount.toFixed(2)} ${currency}`;
  }
}

export function orderView(payload: unknown): OrderView {
  const order = asObject(payload);
  const rows = objects(order?.product_items).map((item) => {
    const quantity = Number(item.quantity);
    const price = Number(item.item_price);
    const currency = text(item.currency);
    return {
      product: text(item.product_retailer_id) ?? "item",
      quantity: Number.isFinite(quantity) ? quantity : 0,
      unit: Number.isFinite(price) && currency ? { price, currency } : null,
    };
  });
  const currencies = new Set(rows.map((r) => r.unit?.currency ?? null));
  const priced = rows.every((r) => r.unit !== null) && currencies.size === 1;
  const total = priced && rows.length ? rows.reduce((sum, r) => sum + (r.unit?.price ?? 0) * r.quantity, 0) : null;
  return {
    note: text(order?.text),
    items: rows.map((r) => ({
      product: r.product,
      quantity: r.quantity,
      price: r.unit ? money(r.unit.price, r.unit.currency) : null,
    })),
    total: total !== null ? money(total, [...currencies][0] as string) : null,
  };
}

export interface FlowView {
  name: string | null;
  answers: { field: string; value: string }[];
}

/** A Flow's answers arrive as a JSON string; `flow_token` is ours, not the customer's answer. */
export function flowAnswers(payload: unknown): FlowView | null {
  const outer = asObject(payload);
  const reply = asObject(outer?.nfm_reply);
  if (text(outer?.type) !== "nfm_reply" || !reply) return null;
  let parsed: Obj | null = null;
  try {
    parsed = asObject(JSON.parse(text(reply.response_json) ?? "null"));
  } catch {
    parsed = null;
  }
  const answers = Object.entries(parsed ?? {})
    .filter(([field]) => field !== "flow_token")
    .map(([field, value]) => ({
      field: field.replace(/^screen_\d+_/, "").replace(/_\d+$/, "").replace(/_/g, " "),
      value: Array.isArray(value) ? value.map(String).join(", ") : typeof value === "object" ? JSON.stringify(value) : String(value),
    }));
  return { name: text(reply.name), answers };
}

function Cards({ payload }: { payload: unknown }) {
  return (
    <ul class="contact-cards" aria-label="Shared contacts">
      {contactCards(payload).map((card, i) => (
        <li key={i} class="contact-card">
          <span class="doc-name">{card.name}</span>
          {card.org && <span class="muted small">{card.org}</span>}
          {card.phones.map((p) => (
            <a key={p.tel} href={p.tel} class="small">
              {p.label}: {p.number}
            </a>
          ))}
          {card.emails.map((e) => (
            <span key={e} class="small">
              {e}
            </span>
          ))}
          {card.urls.map((u) => (
            <a key={u} href={u} target="_blank" rel="noopener noreferrer" class="small">
              {u}
            </a>
          ))}
        </li>
      ))}
    </ul>
  );
}

function Order({ payload }: { payload: unknown }) {
  const order = orderView(payload);
  return (
    <div class="order-card">
      <table aria-label="Order">
        <thead>
          <tr>
            <th scope="col">Product</th>
            <th scope="col">Qty</th>
            <th scope="col">Price</th>
          </tr>
        </thead>
        <tbody>
          {order.items.map((item, i) => (
            <tr key={i}>
              <td>{item.product}</td>
              <td>{item.quantity}</td>
              <td>{item.price ?? "–"}</td>
            </tr>
          ))}
        </tbody>
        {order.total && (
          <tfoot>
            <tr>
              <th scope="row" colSpan={2}>
                Total
              </th>
              <td>{order.total}</td>
            </tr>
          </tfoot>
        )}
      </table>
      {order.note && <p class="text">{order.note}</p>}
    </div>
  );
}

function Flow({ view }: { view: FlowView }) {
  return (
    <div class="flow-reply">
      <p class="doc-name">{view.name ? `Form: ${view.name}` : "Form answers"}</p>
      <dl>
        {view.answers.map((a, i) => (
          <div key={i}>
            <dt>{a.field}</dt>
            <dd>{a.value}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}

/** The readable view of a message's content, or null when its text says it all. */
export function RichContent({ m }: { m: Message }) {
  if (m.type === "contacts") return <Cards payload={m.payload} />;
  if (m.type === "order") return <Order payload={m.payload} />;
  const flow = m.type === "interactive" && m.direction === "inbound" ? flowAnswers(m.payload) : null;
  return flow ? <Flow view={flow} /> : null;
}

export function hasRichContent(m: Message): boolean {
  return (
    m.type === "contacts" ||
    m.type === "order" ||
    (m.type === "interactive" && m.direction === "inbound" && flowAnswers(m.payload) !== null)
  );
}
