import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { api, errorDetail } from "../api";
import { asObject, formatTime, fullTime, replyTitle } from "../format";
import { type Action, key } from "../store";
import type { Message } from "../types";
import { LocationCard, MediaView } from "./MediaView";
import { hasRichContent, RichContent } from "./RichContent";

interface Props {
  conversationId: string;
  messages: Message[] | undefined;
  error: string | null;
  canRetry: boolean;
  dispatch: (action: Action) => void;
}

const OUTBOUND_STATES = new Set(["queued", "sent", "delivered", "read", "failed", "dead"]);

function senderLabel(m: Message): string {
  switch (m.sender) {
    case "customer":
      return "Customer";
    case "bot":
      return "Bot";
    case "system":
      return "System";
    case "agent":
      return m.sender_agent?.name ?? "Agent";
    case "business_app":
      return "WhatsApp Business app";
    case "api":
      return "API";
    default:
      return m.direction === "inbound" ? "Customer" : "Agent";
  }
}

/** Tick icon per delivery state (decorative; the state is also given as text). */
function Tick({ status }: { status: string }) {
  const common = { width: 16, height: 12, viewBox: "0 0 16 12", "aria-hidden": "true" as const, class: `tick tick-${status}` };
  if (status === "queued")
    return (
      <svg {...common}>
        <circle cx="8" cy="6" r="4.5" fill="none" stroke="currentColor" stroke-width="1.4" />
        <path d="M8 3.6V6l1.6 1.2" fill="none" stroke="currentColor" stroke-width="1.4" stroke-linecap="round" />
      </svg>
    );
  if (status === "failed" || status === "dead")
    return (
      <svg {...common}>
        <circle cx="8" cy="6" r="5" fill="currentColor" />
        <path d="M8 3v3.6M8 8.4v.2" stroke="#fff" stroke-width="1.6" stroke-linecap="round" />
      </svg>
    );
  if (status === "sent")
    return (
      <svg {...common}>
        <path d="M3 6.5l2.6 2.6L11 3.5" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round" />
      </svg>
    );
  return (
    <svg {...common}>
      <path d="M1 6.5l2.6 2.6L9 3.5M7 8.6l.5.5L13 3.5" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round" />
    </svg>
  );
}

const str = (v: unknown): string | null => (typeof v === "string" && v ? v : null);

/** Outbound interactive messages: reply buttons as chips, or list rows. */
function Interactive({ payload }: { payload: unknown }) {
  const root = asObject(payload);
  const interactive = asObject(root?.interactive) ?? root;
  if (!interactive) return null;
  const action = asObject(interactive.action);
  if (!action) return null;
  const footer = str(asObject(interactive.footer)?.text);
  if (Array.isArray(action.buttons)) {
    return (
      <div class="interactive">
        <ul class="chips" aria-label="Reply buttons">
          {action.buttons.map((b, i) => {
            const reply = asObject(asObject(b)?.reply);
            return (
              <li key={str(reply?.id) ?? i} class="chip">
                {str(reply?.title) ?? str(asObject(b)?.title) ?? "Button"}
              </li>
            );
          })}
        </ul>
        {footer && <p class="footer">{footer}</p>}
      </div>
    );
  }
  if (Array.isArray(action.sections)) {
    return (
      <div class="interactive">
        {str(action.button) && <p class="list-button">☰ {str(action.button)}</p>}
        {action.sections.map((s, si) => {
          const section = asObject(s);
          const rows = Array.isArray(section?.rows) ? section!.rows : [];
          const title = str(section?.title);
          return (
            <div class="list-section" key={si}>
              {title && <p class="section-title">{title}</p>}
              <ul class="list-rows" aria-label={title ?? "List options"}>
                {rows.map((r, ri) => {
                  const row = asObject(r);
                  return (
                    <li key={str(row?.id) ?? ri} class="list-row">
                      <span class="row-title">{str(row?.title) ?? "Option"}</span>
                      {str(row?.description) && <span class="row-description">{str(row?.description)}</span>}
                    </li>
                  );
                })}
              </ul>
            </div>
          );
        })}
        {footer && <p class="footer">{footer}</p>}
      </div>
    );
  }
  return null;
}

function bodyText(m: Message): string | null {
  if (m.text) return m.text;
  const root = asObject(m.payload);
  const interactive = asObject(root?.interactive) ?? root;
  const body = str(asObject(interactive?.body)?.text);
  return body;
}

function MessageItem({ m, canRetry, dispatch }: { m: Message; canRetry: boolean; dispatch: (a: Action) => void }) {
  const [retrying, setRetrying] = useState(false);
  const [retryError, setRetryError] = useState<string | null>(null);

  if (m.sender === "system") {
    // Notes for agents (bot handoff summary, survey steps, consent): multi-line, never sent.
    const kind = str(asObject(m.payload)?.note);
    return (
      <li class={`message system${kind ? ` note-${kind}` : ""}`}>
        <p class="system-note">
          {m.text ?? "System event"} · <time dateTime={m.created_at} title={fullTime(m.created_at)}>{formatTime(m.created_at)}</time>
        </p>
      </li>
    );
  }

  if (m.type === "note") {
    // An agent's private note: for colleagues only, never sent to the customer.
    const mentions = (asObject(m.payload)?.mentions as Array<{ id: unknown; name?: unknown }> | undefined) ?? [];
    return (
      <li class="message note">
        <div class="bubble note-bubble">
          <p class="meta">
            <span class="sender">{senderLabel(m)}</span>
            <span class="note-tag">Private note</span>
            <time dateTime={m.created_at} title={fullTime(m.created_at)}>
              {formatTime(m.created_at)}
            </time>
          </p>
          <p class="text">{m.text}</p>
          {mentions.length > 0 && (
            <p class="mentions small">Mentioned: {mentions.map((x) => str(x.name) ?? "an agent").join(", ")}</p>
          )}
        </div>
      </li>
    );
  }

  const outbound = m.direction === "outbound";
  const reply = !outbound ? replyTitle(m) : null;
  const text = bodyText(m);
  const isInteractiveOut = outbound && (m.type === "interactive" || !!asObject(asObject(m.payload)?.action));
  const failed = m.status === "failed" || m.status === "dead";
  const payload = asObject(m.payload);
  const referral = asObject(payload?.referral);
  const deleted = !!payload?.deleted;
  const edited = Array.isArray(payload?.edits) && payload.edits.length > 0;

  const retry = async () => {
    setRetrying(true);
    setRetryError(null);
    try {
      const result = await api.retryMessage(m.id);
      const updated = result && typeof result === "object" && "id" in result ? result : { ...m, status: "queued", error: null };
      dispatch({ type: "message/upsert", message: updated, source: "event" });
    } catch (err) {
      setRetryError(errorDetail(err));
    } finally {
      setRetrying(false);
    }
  };

  return (
    <li class={`message ${outbound ? "outbound" : "inbound"} sender-${m.sender}${failed ? " failed" : ""}`}>
      <div class="bubble">
        <p class="meta">
          <span class="sender">{senderLabel(m)}</span>
          <time dateTime={m.created_at} title={fullTime(m.created_at)}>
            {formatTime(m.created_at)}
          </time>
        </p>
        {reply && reply !== text && <p class="reply-chip">↩ {reply}</p>}
        {referral && (
          <p class="referral">
            From an ad: {str(referral.headline) ?? str(referral.source_url) ?? "click-to-WhatsApp"}
          </p>
        )}
        {m.media && !deleted && <MediaView m={m} dispatch={dispatch} />}
        {deleted ? (
          <p class="text muted">Deleted in the WhatsApp Business app</p>
        ) : m.type === "location" ? (
          <LocationCard payload={m.payload} />
        ) : hasRichContent(m) ? (
          <RichContent m={m} />
        ) : text ? (
          <p class="text">{text}</p>
        ) : (
          !reply && !m.media && <p class="text muted">[{m.type}]</p>
        )}
        {edited && !deleted && <p class="edited muted small">edited</p>}
        {!outbound && m.error && (
          <p class="error-detail">
            {m.error.title} <span class="code">(code {m.error.code})</span>
          </p>
        )}
        {isInteractiveOut && <Interactive payload={m.payload} />}
        {m.template && (
          <p class="template-ref muted small">
            Template {m.template.name ?? ""} · v{m.template.version} · {m.template.language}
          </p>
        )}
        {outbound && OUTBOUND_STATES.has(m.status) && (
          <p class="delivery">
            <Tick status={m.status} />
            <span class="status">{m.status}</span>
          </p>
        )}
        {failed && (
          <div class="failure">
            {m.error && (
              <p class="error-detail">
                {m.error.title} <span class="code">(code {m.error.code})</span>
              </p>
            )}
            {canRetry && (
              <button type="button" class="btn small" disabled={retrying} onClick={() => void retry()}>
                Retry
              </button>
            )}
            {retryError && (
              <p role="alert" class="error small">
                {retryError}
              </p>
            )}
          </div>
        )}
      </div>
    </li>
  );
}

export function MessageList({ conversationId, messages, error, canRetry, dispatch }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const seen = useRef<{ id: string; count: number; lastId: string | null }>({ id: "", count: 0, lastId: null });

  // Auto-scroll to the newest message: always when switching conversations or
  // sending, otherwise only if the agent was already near the bottom.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || !messages) return;
    const last = messages[messages.length - 1];
    const lastId = last ? key(last.id) : null;
    const prev = seen.current;
    const switched = prev.id !== conversationId;
    const grew = lastId !== prev.lastId;
    seen.current = { id: conversationId, count: messages.length, lastId };
    if (!switched && !grew) return;
    const nearBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 160;
    if (switched || nearBottom || last?.direction === "outbound") el.scrollTop = el.scrollHeight;
  }, [conversationId, messages]);

  return (
    // Focusable, so that keyboard users can scroll the history (it may hold nothing else to focus).
    <div
      class="messages-scroll"
      ref={scroller}
      role="region"
      aria-label="Message history"
      tabIndex={0}
      aria-busy={messages === undefined && !error}
    >
      {error && (
        <p role="alert" class="error list-message">
          Could not load messages: {error}
        </p>
      )}
      {messages === undefined && !error && <p class="list-message muted">Loading messages…</p>}
      {messages !== undefined && messages.length === 0 && <p class="list-message muted">No messages yet</p>}
      <ol class="message-list" role="list" aria-label="Messages">
        {(messages ?? []).map((m) => (
          <MessageItem key={key(m.id)} m={m} canRetry={canRetry} dispatch={dispatch} />
        ))}
      </ol>
    </div>
  );
}
