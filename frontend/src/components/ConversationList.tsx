import { capitalize, contactName, formatTime, previewText, waitingLabel } from "../format";
import { useNow } from "../hooks";
import { SlaBadge } from "./SlaBadge";
import { type SlaFlag, key } from "../store";
import type { Conversation, Id } from "../types";

interface Props {
  conversations: Conversation[];
  selectedId: string | null;
  loading: boolean;
  error: string | null;
  sla: Record<string, SlaFlag>;
  filterActive: boolean;
  onSelect: (id: Id) => void;
}

export function ConversationList({ conversations, selectedId, loading, error, sla, filterActive, onSelect }: Props) {
  const anyQueued = conversations.some((c) => c.status === "queued");
  const now = useNow(1000, anyQueued);

  return (
    <div class="conversation-list-wrap" aria-busy={loading}>
      {error && (
        <p class="list-message error" role="alert">
          {error}
        </p>
      )}
      {conversations.length === 0 && !error && (
        <p class="list-message muted">{loading ? "Loading conversations…" : filterActive ? "No matching conversations" : "No conversations"}</p>
      )}
      <ul class="conversation-list" role="list" aria-label="Conversations">
        {conversations.map((c) => {
          const id = key(c.id);
          const current = id === selectedId;
          const waiting = c.status === "queued" ? waitingLabel(c.queued_at ?? c.updated_at, now) : null;
          const flag = sla[id];
          const unread = c.unread ?? 0;
          return (
            <li key={id} class={`conversation-item${current ? " current" : ""}${unread ? " unread" : ""}`}>
              <button type="button" class="conversation-button" aria-current={current ? "true" : undefined} onClick={() => onSelect(c.id)}>
                <span class="row">
                  <span class="contact-name">{contactName(c.contact)}</span>
                  <time class="when" dateTime={c.updated_at}>
                    {formatTime(c.updated_at)}
                  </time>
                </span>
                <span class="row">
                  <ListThumbnail message={c.last_message} />
                  <span class="preview">{previewText(c.last_message) || "No messages yet"}</span>
                  {unread > 0 && (
                    <span class="unread-badge">
                      {unread}
                      <span class="sr-only"> unread</span>
                    </span>
                  )}
                </span>
                <span class="row meta">
                  <span class={`pill status-${c.status}`}>{capitalize(c.status)}</span>
                  {waiting && <span class="waiting">{waiting}</span>}
                  {c.team && <span class="team">{c.team}</span>}
                  {c.status === "assigned" && c.assignee && <span class="assignee">{c.assignee.name}</span>}
                  <SlaBadge conversation={c} flag={flag} />
                  {isHighPriority(c.priority) && <span class="pill priority">Priority</span>}
                  {(c.labels ?? []).map((label) => (
                    <span key={label} class="pill label">
                      {label}
                    </span>
                  ))}
                </span>
              </button>
            </li>
          );
        })}
      </ul>
    </div>
  );
}

function isHighPriority(priority: Conversation["priority"]): boolean {
  if (typeof priority === "number") return priority > 0;
  if (typeof priority === "string") return !["", "normal", "low", "none", "0"].includes(priority.toLowerCase());
  return false;
}

/** A photo or sticker as the last message: a small picture before its label. The same URL as the
 * thread's, so opening the conversation reuses what the browser already fetched (lazily, for the
 * rows scrolled into view). Decorative: the label beside it says what it is. */
function ListThumbnail({ message }: { message: Conversation["last_message"] }) {
  const media = message?.media;
  if (!media || media.state !== "stored" || !media.url || !(media.kind === "image" || media.kind === "sticker")) return null;
  return <img class="list-thumb" src={media.url} alt="" loading="lazy" decoding="async" width={32} height={32} />;
}
