import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, api, errorDetail, newIdempotencyKey } from "../api";
import { formatRemaining } from "../format";
import { useNow } from "../hooks";
import { type Action, key } from "../store";
import type { Conversation, Message, QuickReply } from "../types";
import { TemplatePicker } from "./TemplatePicker";
import { AttachButton, AttachmentChip, firstFile, useAttachment } from "./Attachment";

interface Props {
  conversation: Conversation;
  quickReplies: QuickReply[];
  dispatch: (action: Action) => void;
  isLead?: boolean;
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

export function Composer({ conversation, quickReplies, dispatch, isLead = false }: Props) {
  const cid = key(conversation.id);
  const [text, setText] = useState(() => drafts.get(cid) ?? "");
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

  const expires = conversation.window_expires_at;
  const win = windowState(expires, now);
  // A 422 from the server closes the window until the customer writes again.
  const closed = !win.open || (rejectedFor !== undefined && rejectedFor === (expires ?? null));

  // Quick replies: "/" at the very start, filtered by what follows.
  const slash = /^\/(\S*)$/.exec(text);
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
    const body = text.trim();
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
  return (
    <form
      class={`composer${closed ? " closed" : ""}`}
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
      <div class="window-info">
        {closed ? (
          <p class="window-closed">
            <strong>Template required</strong> — the 24-hour customer-service window is closed, so free-form messages
            cannot be sent until the customer writes again. Use <em>Template</em> to pick an approved one.
          </p>
        ) : (
          win.known && <p class="window-open muted small">Window closes in {formatRemaining(win.remainingMs)}</p>
        )}
      </div>
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
          Message
        </label>
        <textarea
          id={`composer-${cid}`}
          ref={textarea}
          rows={2}
          placeholder={closed ? "Template required" : "Type a reply — Enter to send, Shift+Enter for a new line, / for quick replies"}
          value={text}
          aria-autocomplete="list"
          aria-activedescendant={qrOpen ? `${listId}-${activeIndex}` : undefined}
          onInput={(e) => {
            setText(e.currentTarget.value);
            setQrDismissed(false);
            setQrIndex(0);
          }}
          onKeyDown={onKeyDown}
          onPaste={(e) => {
            const file = firstFile(e.clipboardData?.files);
            if (file && file.type.startsWith("image/") && !closed) {
              e.preventDefault();
              void attach(file);
            }
          }}
        />
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
      </div>
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
