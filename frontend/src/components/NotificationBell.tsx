import { useState } from "preact/hooks";
import { useDismiss } from "../hooks";
import { api, errorDetail } from "../api";
import { formatTime, fullTime } from "../format";
import { key } from "../store";
import type { AppNotification, Id } from "../types";

interface Props {
  items: AppNotification[];
  unread: number;
  onOpen: (conversationId: Id) => void;
  onRead: (id: Id | "all") => void;
}

/** The bell: unread count, and a panel of the agent's notifications (newest first). */
export function NotificationBell({ items, unread, onOpen, onRead }: Props) {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const root = useDismiss<HTMLDivElement>(open, () => setOpen(false));

  const openOne = async (n: AppNotification) => {
    setError(null);
    if (n.conversation_id !== null) onOpen(n.conversation_id);
    setOpen(false);
    if (!n.read) {
      onRead(n.id);
      api.readNotification(n.id).catch((err) => setError(errorDetail(err)));
    }
  };

  const readAll = async () => {
    onRead("all");
    try {
      await api.readAllNotifications();
    } catch (err) {
      setError(errorDetail(err));
    }
  };

  return (
    <div class="bell" ref={root}>
      <button
        type="button"
        class={`btn ghost bell-button${unread > 0 ? " has-unread" : ""}`}
        aria-describedby="bell-count"
        aria-expanded={open}
        onClick={() => setOpen(!open)}
      >
        <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true">
          <path
            d="M12 3a6 6 0 0 0-6 6v3.6L4.3 16a1 1 0 0 0 .9 1.5h13.6a1 1 0 0 0 .9-1.5L18 12.6V9a6 6 0 0 0-6-6zm0 19a2.5 2.5 0 0 0 2.4-2h-4.8a2.5 2.5 0 0 0 2.4 2z"
            fill="currentColor"
          />
        </svg>
        <span class="sr-only">Notifications</span>
        {unread > 0 && <span class="bell-badge">{unread > 99 ? "99+" : unread}</span>}
      </button>
      <span id="bell-count" class="sr-only">
        {unread === 0 ? "no unread notifications" : `${unread} unread`}
      </span>
      {open && (
        <section class="bell-panel" aria-label="Notification list">
          <header class="bell-header">
            <h2>Notifications</h2>
            <button type="button" class="btn ghost small" disabled={unread === 0} onClick={() => void readAll()}>
              Mark all read
            </button>
          </header>
          {error && (
            <p role="alert" class="error small">
              {error}
            </p>
          )}
          {items.length === 0 ? (
            <p class="muted small bell-empty">Nothing yet.</p>
          ) : (
            <ul class="bell-list">
              {items.map((n) => (
                <li key={key(n.id)} class={n.read ? "read" : "unread"}>
                  <button type="button" class="bell-item" onClick={() => void openOne(n)}>
                    <span class="bell-text">{n.text}</span>
                    {typeof n.data?.excerpt === "string" && n.data.excerpt && <span class="bell-excerpt">“{n.data.excerpt}”</span>}
                    <time dateTime={n.created_at} title={fullTime(n.created_at)}>
                      {formatTime(n.created_at)}
                    </time>
                    {!n.read && <span class="sr-only"> (unread)</span>}
                  </button>
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
    </div>
  );
}
