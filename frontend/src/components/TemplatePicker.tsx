import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, api, errorDetail, newIdempotencyKey } from "../api";
import { contactName } from "../format";
import { key } from "../store";
import type { Conversation, Message, Template, TemplateParameter } from "../types";

interface Props {
  conversation: Conversation;
  /** Leads see templates that are not offered (paused, rejected…) with the reason. */
  isLead: boolean;
  onClose: () => void;
  onSent: (message: Message) => void;
}

const VARIABLE = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;
const CONTACT_NAME_PARAMETERS = new Set(["name", "first_name", "customer_name", "contact_name"]);
const MEDIA = new Set(["image", "video", "document"]);

function fieldId(p: TemplateParameter): string {
  return `${p.component}-${p.index ?? ""}-${p.name}`;
}

function fieldLabel(p: TemplateParameter): string {
  if (MEDIA.has(p.type)) return `Header ${p.type} link`;
  const where = p.component === "button" ? `Button ${(p.index ?? 0) + 1}` : p.component === "header" ? "Header" : "Body";
  return `${where} {{${p.name}}}`;
}

function textOf(template: Template, kind: string): string {
  const c = template.components.find((x) => String(x.type ?? "").toUpperCase() === kind);
  return typeof c?.text === "string" ? c.text : "";
}

/** The message as the customer will read it: header, body with the values, footer. */
export function renderTemplate(template: Template, values: Record<string, string>): string {
  const fill = (component: string, text: string) =>
    text.replace(VARIABLE, (whole, name: string) => values[`${component}--${name}`] || whole);
  return [fill("header", textOf(template, "HEADER")), fill("body", textOf(template, "BODY")), textOf(template, "FOOTER")]
    .filter(Boolean)
    .join("\n\n");
}

/** Same checks as the server, so a mistake is shown before it is sent (Meta's 132000, 132012). */
export function problemsOf(template: Template, values: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const p of template.parameters) {
    const value = (values[fieldId(p)] ?? "").trim();
    if (!value) problems.push(`${fieldLabel(p)} is required`);
    else if (MEDIA.has(p.type) && !/^https?:\/\//.test(value)) problems.push(`${fieldLabel(p)} must be an http(s) link`);
    else if (/[\n\t]| {5,}/.test(value)) problems.push(`${fieldLabel(p)} cannot contain new lines, tabs or 5 spaces`);
  }
  if (textOf(template, "BODY") && renderTemplate(template, renderValues(template, values)).length > 1100) {
    problems.push("the filled message is too long");
  }
  return problems;
}

function renderValues(template: Template, values: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of template.parameters) out[`${p.component}--${p.name}`] = values[fieldId(p)] ?? "";
  return out;
}

/** The Cloud API `template` object for the send. */
export function templateBody(template: Template, values: Record<string, string>): Record<string, unknown> {
  const named = template.parameter_format === "NAMED";
  const text = (p: TemplateParameter) => ({
    type: "text",
    text: (values[fieldId(p)] ?? "").trim(),
    ...(named && p.component !== "button" ? { parameter_name: p.name } : {}),
  });
  const components: Record<string, unknown>[] = [];
  const header = template.parameters.filter((p) => p.component === "header");
  if (header.length && MEDIA.has(header[0].type)) {
    components.push({ type: "header", parameters: [{ type: header[0].type, [header[0].type]: { link: (values[fieldId(header[0])] ?? "").trim() } }] });
  } else if (header.length) {
    components.push({ type: "header", parameters: header.map(text) });
  }
  const body = template.parameters.filter((p) => p.component === "body");
  if (body.length) components.push({ type: "body", parameters: body.map(text) });
  const buttons = new Map<number, TemplateParameter[]>();
  for (const p of template.parameters.filter((x) => x.component === "button")) {
    buttons.set(p.index ?? 0, [...(buttons.get(p.index ?? 0) ?? []), p]);
  }
  for (const [index, params] of buttons) {
    components.push({ type: "button", sub_type: "url", index: String(index), parameters: params.map(text) });
  }
  return { name: template.name, language: { code: template.language }, components };
}

/** The contact's own language first, then English, then the rest. */
function preferredLanguage(languages: string[], contactLanguage: string | null | undefined): string {
  const base = (code: string) => code.split(/[_-]/)[0].toLowerCase();
  const wanted = contactLanguage ? [contactLanguage, base(contactLanguage)] : [];
  for (const w of [...wanted, "en_US", "en"]) {
    const exact = languages.find((l) => l.toLowerCase() === w.toLowerCase());
    if (exact) return exact;
    const similar = languages.find((l) => base(l) === base(w));
    if (similar) return similar;
  }
  return languages[0];
}

export function TemplatePicker({ conversation, isLead, onClose, onSent }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [templates, setTemplates] = useState<Template[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [query, setQuery] = useState("");
  const [name, setName] = useState<string | null>(null);
  const [language, setLanguage] = useState<string | null>(null);
  const [values, setValues] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [idempotencyKey] = useState(newIdempotencyKey);

  useEffect(() => {
    const el = dialog.current;
    if (el && !el.open) {
      if (typeof el.showModal === "function") el.showModal();
      else el.setAttribute("open", "");
    }
    api.templates({ channel_id: conversation.channel_id }).then(
      (r) => setTemplates(r.items ?? []),
      (err) => {
        setTemplates([]);
        setLoadError(errorDetail(err));
      },
    );
  }, [conversation.channel_id]);

  const visible = (templates ?? []).filter((t) => t.offered || isLead);
  const needle = query.trim().toLowerCase();
  const names = useMemo(() => {
    const byName = new Map<string, Template[]>();
    for (const t of visible) {
      if (needle && !t.name.toLowerCase().includes(needle) && !t.preview.toLowerCase().includes(needle)) continue;
      byName.set(t.name, [...(byName.get(t.name) ?? []), t]);
    }
    return [...byName.entries()];
  }, [templates, needle, isLead]);

  const family = name ? visible.filter((t) => t.name === name) : [];
  const chosen = family.find((t) => t.language === language) ?? null;

  const choose = (picked: string) => {
    const languages = visible.filter((t) => t.name === picked && t.offered).map((t) => t.language);
    const all = visible.filter((t) => t.name === picked).map((t) => t.language);
    setName(picked);
    setLanguage(preferredLanguage(languages.length ? languages : all, conversation.contact.language));
    setError(null);
  };

  // Defaults from the contact: a parameter named like a name gets the customer's name.
  useEffect(() => {
    if (!chosen) return;
    setValues((old) => {
      const next = { ...old };
      for (const p of chosen.parameters) {
        if (next[fieldId(p)] === undefined && CONTACT_NAME_PARAMETERS.has(p.name) && conversation.contact.name) {
          next[fieldId(p)] = conversation.contact.name;
        }
      }
      return next;
    });
  }, [chosen?.id]);

  const problems = chosen ? problemsOf(chosen, values) : [];
  const preview = chosen ? renderTemplate(chosen, renderValues(chosen, values)) : "";

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!chosen || busy || problems.length || !chosen.offered) return;
    setBusy(true);
    setError(null);
    try {
      const message = await api.sendTemplate(conversation.id, templateBody(chosen, values), idempotencyKey);
      onSent(message);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 422 ? `Not sent: ${err.detail}` : `Not sent: ${errorDetail(err)}`);
      setBusy(false);
    }
  };

  return (
    <dialog
      ref={dialog}
      class="template-dialog"
      aria-labelledby="template-title"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <form onSubmit={submit}>
        <h2 id="template-title">Send a template to {contactName(conversation.contact)}</h2>
        <label class="field">
          <span>Search templates</span>
          <input type="search" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
        </label>
        <fieldset class="template-names">
          <legend>Templates</legend>
          {templates === null && <p class="muted small">Loading templates…</p>}
          {loadError && <p class="muted small">Templates unavailable: {loadError}</p>}
          {templates !== null && names.length === 0 && !loadError && <p class="muted small">No approved templates match.</p>}
          {names.map(([n, variants]) => {
            const offered = variants.some((v) => v.offered);
            const why = variants.find((v) => !v.offered);
            return (
              <label class="option" key={`tpl-${n}`}>
                <input type="radio" name="template-name" checked={name === n} onChange={() => choose(n)} />
                <span class="tpl-name">{n}</span>
                <span class="muted small"> {variants.map((v) => v.language).join(", ")}</span>
                {!offered && why && (
                  <span class="tpl-status small">
                    {" "}
                    {why.status}
                    {why.reason ? `: ${why.reason}` : ""}
                  </span>
                )}
              </label>
            );
          })}
        </fieldset>
        {family.length > 0 && (
          <label class="field">
            <span>Language</span>
            <select value={language ?? ""} onChange={(e) => setLanguage(e.currentTarget.value)}>
              {family.map((t) => (
                <option key={key(t.id)} value={t.language}>
                  {t.language}
                  {t.offered ? "" : ` (${t.status})`}
                </option>
              ))}
            </select>
          </label>
        )}
        {chosen && !chosen.offered && (
          <p class="error small">
            Not offered: {chosen.status}
            {chosen.reason ? ` — ${chosen.reason}` : ""}
          </p>
        )}
        {chosen && chosen.parameters.length > 0 && (
          <fieldset class="template-values">
            <legend>Variables</legend>
            {chosen.parameters.map((p) => (
              <label class="field" key={fieldId(p)}>
                <span>{fieldLabel(p)}</span>
                <input
                  type={MEDIA.has(p.type) ? "url" : "text"}
                  value={values[fieldId(p)] ?? ""}
                  placeholder={p.example ?? ""}
                  onInput={(e) => {
                    const value = e.currentTarget.value;
                    setValues((old) => ({ ...old, [fieldId(p)]: value }));
                  }}
                />
              </label>
            ))}
          </fieldset>
        )}
        {chosen && (
          <section class="template-preview" aria-label="Preview">
            <p class="bubble">{preview}</p>
          </section>
        )}
        {chosen && problems.length > 0 && (
          <ul class="muted small template-problems" aria-label="Still missing">
            {problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        )}
        {error && (
          <p role="alert" class="error small">
            {error}
          </p>
        )}
        <div class="dialog-actions">
          <button type="button" class="btn ghost" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn primary" disabled={!chosen || !chosen.offered || problems.length > 0 || busy} aria-busy={busy}>
            Send template
          </button>
        </div>
      </form>
    </dialog>
  );
}
