import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, api, errorDetail, newIdempotencyKey } from "../api";
import { formatRemaining } from "../format";
import { useNow } from "../hooks";
import { type Action, key } from "../store";
import type { AgentSummary, Conversation, Id, Message, QuickReply } from "../types";
import { TemplatePicker } from "./TemplatePicker";
import { AttachButton, AttachmentChip, firstFile, useAttachment } from "./Attachment";

interface Props {
  conversation: Conversation;
  quickReplies: QuickReply[];
  dispatch: (action: Action) => void;
  isLead?: boolean;
  /** Only the holder replies; anyone who sees the chat may write a private note. */
  canReply?: boolean;
}

type Mode = "reply" | "note";

/** Colleagues for @ completion, loaded once per page. */
let agentDirectory: Promise<AgentSummary[]> | null = null;
function loadAgents(): Promise<AgentSummary[]> {
  agentDirectory ??= api.agents().then(
    (r) => r.items ?? [],
    () => {
      agentDirectory = null;
      return [];
    },
  );
  return agentDirectory;
}

/** The `@word` being typed just before the caret, if any. */
export function mentionQuery(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret);
  const match = /(^|\s)@([\p{L}\p{N}_.-]*)$/u.exec(before);
  if (!match) return null;
  return { start: before.length - match[2].length - 1, query: match[2] };
}

/** The mentioned agents whose `@Name` is still in the text when the note is saved. */
export function mentionedIds(text: string, chosen: Map<string, { id: Id; name: string }>): Id[] {
  return [...chosen.values()].filter((a) => text.includes(`@${a.name}`)).map((a) => a.id);
}

/** Unsent drafts survive switching between conversations. */
const drafts = new Map<string, string>();

/** The idempotency key of a submission that has not been confirmed yet, per conversation. */
const pendingKeys = new Map<string, { text: string; key: string }>();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function windowState(expires: string | null | undefined, now: number): { known: boolean; open: boolean; remainingMs: number } {
  if (expires === undefined) return { known: false, open: true, remainingMs: 0 };
  if (expires === null) return { known: true, open: false, remainingMs: 0 };
  const t = Date.parse(expires);
  if (Number.isNaN(t)) return { known: false, open: true, remainingMs: 0 };
  return { known: true, open: t > now, remainingMs: t - now };
}

export function Composer({ conversation, quickReplies, dispatch, isLead = false, canReply = true }: Props) {
  const cid = key(conversation.id);
  const [chosenMode, setMode] = useState<Mode>("reply"); // notes only while the agent may not reply
  const mode: Mode = canReply ? chosenMode : "note";
  const [text, setText] = useState(() => drafts.get(cid) ?? "");
  const [agents, setAgents] = useState<AgentSummary[]>([]);
  const [caret, setCaret] = useState(0);
  const [mentionIndex, setMentionIndex] = useState(0);
  const [mentionDismissed, setMentionDismissed] = useState(false);
  const chosen = useRef(new Map<string, { id: Id; name: string }>());
  const [preview, setPreview] = useState<{ text: string; missing: string[] } | null>(null);
  const lastTyping = useRef(0);
  const hasVariables = mode === "reply" && /\{\{[^}]+\}\}/.test(text);

  // Quick reply variables ({{contact.first_name}}, …): previewed as the customer will read them.
  useEffect(() => {
    if (!hasVariables) {
      setPreview(null);
      return undefined;
    }
    let stopped = false;
    const timer = setTimeout(() => {
      api.fill(conversation.id, text).then(
        (filled) => !stopped && setPreview(filled),
        () => !stopped && setPreview(null),
      );
    }, 150);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [hasVariables, text, cid]);

  /** "typing…" for the customer while the holder types a reply (the server sends it at most every 20 s). */
  const typed = () => {
    if (mode !== "reply" || !canReply) return;
    const now = Date.now();
    if (now - lastTyping.current < 20_000) return;
    lastTyping.current = now;
    api.typing(conversation.id).catch(() => undefined);
  };
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [rejectedFor, setRejectedFor] = useState<string | null | undefined>(undefined);
  const [qrIndex, setQrIndex] = useState(0);
  const [qrDismissed, setQrDismissed] = useState(false);
  const [picking, setPicking] = useState(false);
  const textarea = useRef<HTMLTextAreaElement>(null);
  const now = useNow(15_000);
  const { attachment, attach, clear } = useAttachment();
  const fileReady = attachment?.uploaded ?? null;

  useEffect(() => {
    drafts.set(cid, text);
  }, [cid, text]);

  useEffect(() => {
    if (mode === "note" && agents.length === 0) void loadAgents().then(setAgents);
  }, [mode]);

  const expires = conversation.window_expires_at;
  const win = windowState(expires, now);
  // A 422 from the server closes the window until the customer writes again (notes go anyway).
  const closed = mode === "reply" && (!win.open || (rejectedFor !== undefined && rejectedFor === (expires ?? null)));

  // @ completion of colleagues' names, in notes only.
  const mention = mode === "note" ? mentionQuery(text, caret) : null;
  const mentionMatches = mention
    ? agents.filter((a) => a.name.toLowerCase().includes(mention.query.toLowerCase())).slice(0, 8)
    : [];
  const mentionOpen = !!mention && !mentionDismissed && mentionMatches.length > 0;
  const mentionActive = Math.min(mentionIndex, Math.max(0, mentionMatches.length - 1));
  const insertMention = (agent: AgentSummary) => {
    if (!mention) return;
    const inserted = `@${agent.name} `;
    const next = text.slice(0, mention.start) + inserted + text.slice(caret);
    chosen.current.set(key(agent.id), { id: agent.id, name: agent.name });
    setText(next);
    const position = mention.start + inserted.length;
    setCaret(position);
    setMentionDismissed(true);
    requestAnimationFrame(() => {
      textarea.current?.focus();
      textarea.current?.setSelectionRange(position, position);
    });
  };

  const submitNote = async () => {
    const body = text.trim();
    if (!body || sending) return;
    setSending(true);
    setError(null);
    try {
      const note = await api.addNote(conversation.id, body, mentionedIds(body, chosen.current));
      dispatch({ type: "message/upsert", message: note, source: "local" });
      setText("");
      chosen.current.clear();
      drafts.delete(cid);
      textarea.current?.focus();
    } catch (err) {
      setError(`Note not saved: ${errorDetail(err)}`);
    } finally {
      setSending(false);
    }
  };

  // Quick replies: "/" at the very start, filtered by what follows.
  const slash = mode === "reply" ? /^\/(\S*)$/.exec(text) : null;
  const qrQuery = slash ? slash[1].toLowerCase() : "";
  const matches = slash
    ? quickReplies.filter(
        (q) => q.shortcut.replace(/^\//, "").toLowerCase().startsWith(qrQuery) || q.title.toLowerCase().includes(qrQuery),
      ).slice(0, 8)
    : [];
  const qrOpen = !!slash && !qrDismissed && matches.length > 0;
  const activeIndex = Math.min(qrIndex, Math.max(0, matches.length - 1));

  const insertQuickReply = (q: QuickReply) => {
    setText(q.text);
    setQrDismissed(true);
    textarea.current?.focus();
  };

  const submit = async () => {
    if (mode === "note") return submitNote();
    let body = text.trim();
    if (/\{\{[^}]+\}\}/.test(body)) {
      // Filled at send time, from the conversation as it is now.
      try {
        body = (await api.fill(conversation.id, body)).text.trim();
      } catch (err) {
        setError(`Not sent: ${errorDetail(err)}`);
        return;
      }
    }
    if ((!body && !fileReady) || attachment?.uploading || sending || closed) return;
    // The key names what is sent: the same text (and file) after a failure reuses it.
    const what = fileReady ? `file:${String(fileReady.id)}:${body}` : body;
    let pending = pendingKeys.get(cid);
    if (!pending || pending.text !== what) {
      pending = { text: what, key: newIdempotencyKey() };
      pendingKeys.set(cid, pending);
    }
    setSending(true);
    setError(null);
    try {
      let message: Message | null = null;
      // Retry transient failures with the same key: the server never sends twice.
      for (let attempt = 0; ; attempt++) {
        try {
          message = fileReady
            ? await api.sendMedia(conversation.id, fileReady.id, body, pending.key)
            : await api.sendText(conversation.id, body, pending.key);
          break;
        } catch (err) {
          if (err instanceof ApiError && err.transient && attempt < 3) {
            await sleep(500 * 2 ** attempt);
            continue;
          }
          throw err;
        }
      }
      pendingKeys.delete(cid);
      if (message && typeof message === "object" && "id" in message) {
        dispatch({ type: "message/upsert", message, source: "local" });
      }
      setText("");
      clear();
      drafts.delete(cid);
      textarea.current?.focus();
    } catch (err) {
      if (err instanceof ApiError && err.status === 422) {
        pendingKeys.delete(cid);
        if (/window|template|24/i.test(err.detail)) setRejectedFor(expires ?? null);
        setError(`Not sent: ${err.detail}`);
      } else if (err instanceof ApiError && err.status === 409) {
        pendingKeys.delete(cid);
        setError(`Not sent: ${err.detail}`);
      } else {
        setError(`Not sent: ${errorDetail(err)} Press Send to try again.`);
      }
    } finally {
      setSending(false);
    }
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (mentionOpen) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const step = e.key === "ArrowDown" ? 1 : -1;
        setMentionIndex((mentionActive + step + mentionMatches.length) % mentionMatches.length);
        return;
      }
      if (e.key === "Enter" || e.key === "Tab") {
        e.preventDefault();
        insertMention(mentionMatches[mentionActive]);
        return;
      }
      if (e.key === "Escape") {
        e.preventDefault();
        setMentionDismissed(true);
        return;
      }
    }
    if (qrOpen) {
      if (e.key === "ArrowDown") {
        e.preventDefault();
        setQrIndex((activeIndex + 1) % matches.length);
        return;
      }
      if (e.key === "ArrowUp") {
        e.preventDefault();
        setQrIndex((activeIndex - 1 + matches.length) % matches.length);
        return;
      }
      if (e.key === "Enter" || e.key === "Tab") {
        e.preventDefault();
        insertQuickReply(matches[activeIndex]);
        return;
      }
      if (e.key === "Escape") {
        e.preventDefault();
        setQrDismissed(true);
        return;
      }
    }
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      void submit();
    }
  };

  const listId = `quick-replies-${cid}`;
  const mentionListId = `mentions-${cid}`;
  const tab = (name: Mode, label: string) => (
    <button
      type="button"
      role="tab"
      id={`composer-tab-${name}-${cid}`}
      aria-selected={mode === name}
      aria-controls={`composer-panel-${cid}`}
      aria-disabled={name === "reply" && !canReply}
      title={name === "reply" && !canReply ? "Claim this conversation to reply" : undefined}
      class={`composer-tab${mode === name ? " active" : ""}`}
      onClick={() => {
        if (name === "reply" && !canReply) return;
        setMode(name);
        setError(null);
        textarea.current?.focus();
      }}
    >
      {label}
    </button>
  );
  return (
    <form
      id={`composer-panel-${cid}`}
      role="tabpanel"
      aria-labelledby={`composer-tab-${mode}-${cid}`}
      class={`composer${closed ? " closed" : ""}${mode === "note" ? " note-mode" : ""}`}
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
      onDragOver={(e) => {
        if (!closed && e.dataTransfer?.types.includes("Files")) e.preventDefault();
      }}
      onDrop={(e) => {
        const file = firstFile(e.dataTransfer?.files);
        if (!file || closed) return;
        e.preventDefault();
        void attach(file);
      }}
    >
      <div class="composer-tabs" role="tablist" aria-label="Reply or private note">
        {tab("reply", "Reply")}
        {tab("note", "Note")}
      </div>
      <div class="window-info">
        {mode === "note" ? (
          <p class="muted small">Private note for colleagues — never sent to the customer. Type @ to mention someone.</p>
        ) : closed ? (
          <p class="window-closed">
            <strong>Template required</strong> — the 24-hour customer-service window is closed, so free-form messages
            cannot be sent until the customer writes again. Use <em>Template</em> to pick an approved one.
          </p>
        ) : (
          win.known && <p class="window-open muted small">Window closes in {formatRemaining(win.remainingMs)}</p>
        )}
      </div>
      {mentionOpen && (
        <ul id={mentionListId} class="quick-replies mention-list" role="listbox" aria-label="Agents">
          {mentionMatches.map((a, i) => (
            <li
              key={key(a.id)}
              id={`${mentionListId}-${i}`}
              role="option"
              aria-selected={i === mentionActive}
              class={i === mentionActive ? "active" : ""}
              onMouseDown={(e) => {
                e.preventDefault();
                insertMention(a);
              }}
            >
              <span class="qr-title">{a.name}</span>
              <span class="qr-text">{(a.teams ?? []).join(", ")}</span>
            </li>
          ))}
        </ul>
      )}
      {qrOpen && (
        <ul id={listId} class="quick-replies" role="listbox" aria-label="Quick replies">
          {matches.map((q, i) => (
            <li
              key={String(q.id)}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === activeIndex}
              class={i === activeIndex ? "active" : ""}
              onMouseDown={(e) => {
                e.preventDefault();
                insertQuickReply(q);
              }}
            >
              <span class="shortcut">/{q.shortcut.replace(/^\//, "")}</span>
              <span class="qr-title">{q.title}</span>
              <span class="qr-text">{q.text}</span>
            </li>
          ))}
        </ul>
      )}
      <div class="composer-row">
        <label for={`composer-${cid}`} class="sr-only">
          {mode === "note" ? "Note" : "Message"}
        </label>
        <textarea
          id={`composer-${cid}`}
          ref={textarea}
          rows={2}
          placeholder={
            mode === "note"
              ? "Private note — @ to mention a colleague, Enter to save"
              : closed
                ? "Template required"
                : "Type a reply — Enter to send, Shift+Enter for a new line, / for quick replies"
          }
          value={text}
          aria-autocomplete="list"
          aria-activedescendant={
            mentionOpen ? `${mentionListId}-${mentionActive}` : qrOpen ? `${listId}-${activeIndex}` : undefined
          }
          onInput={(e) => {
            setText(e.currentTarget.value);
            setCaret(e.currentTarget.selectionStart ?? e.currentTarget.value.length);
            setQrDismissed(false);
            setQrIndex(0);
            setMentionDismissed(false);
            setMentionIndex(0);
            typed();
          }}
          onKeyUp={(e) => setCaret(e.currentTarget.selectionStart ?? 0)}
          onClick={(e) => setCaret(e.currentTarget.selectionStart ?? 0)}
          onKeyDown={onKeyDown}
          onPaste={(e) => {
            const file = firstFile(e.clipboardData?.files);
            if (file && file.type.startsWith("image/") && !closed) {
              e.preventDefault();
              void attach(file);
            }
          }}
        />
        {mode === "reply" ? (
          <>
            <button
              type="button"
              class={`btn${closed ? " primary" : ""}`}
              aria-haspopup="dialog"
              onClick={() => setPicking(true)}
            >
              Template
            </button>
            <AttachButton disabled={closed || sending} onFile={(file) => void attach(file)} />
            <button
              type="submit"
              class="btn primary"
              disabled={closed || sending || !!attachment?.uploading || (!text.trim() && !fileReady)}
              aria-busy={sending}
            >
              Send
            </button>
          </>
        ) : (
          <button type="submit" class="btn note-save" disabled={sending || !text.trim()} aria-busy={sending}>
            Add note
          </button>
        )}
      </div>
      {preview && (
        <p class="fill-preview small" aria-live="polite">
          <span class="muted">The customer will read: </span>
          {preview.text}
          {preview.missing.length > 0 && <span class="warn"> — no value for {preview.missing.join(", ")}</span>}
        </p>
      )}
      {attachment && <AttachmentChip attachment={attachment} onRemove={clear} />}
      {picking && (
        <TemplatePicker
          conversation={conversation}
          isLead={isLead}
          onClose={() => setPicking(false)}
          onSent={(message) => {
            setPicking(false);
            if (message && typeof message === "object" && "id" in message) {
              dispatch({ type: "message/upsert", message, source: "local" });
            }
          }}
        />
      )}
      {error && (
        <p role="alert" class="error small">
          {error}
        </p>
      )}
    </form>
  );
}
