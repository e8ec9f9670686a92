import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, api, errorDetail } from "../api";
import { contactName, previewText } from "../format";
import { useDebounced, useStore } from "../hooks";
import { beep, notificationsWanted, notify, setNotificationsWanted } from "../notify";
import { RealtimeClient, defaultSocketUrl } from "../realtime";
import { Store, filterQuery, initialState, key, listKey, visibleConversations } from "../store";
import type { Agent, AppNotification, Frame, Id, QuickReply } from "../types";
import { AccountDialog } from "../admin/AccountDialog";
import { publishFrame, useLive } from "../admin/live";
import { ConversationList } from "./ConversationList";
import { ConversationView } from "./ConversationView";
import { NotificationBell } from "./NotificationBell";
import { SearchBox } from "./SearchBox";
import { SHORTCUTS, commandFor, step } from "../shortcuts";
import { QueueNav } from "./QueueNav";
import { ReconnectBanner } from "./ReconnectBanner";

interface Props {
  agent: Agent;
  onSignOut: () => void;
  onSessionEnded: () => void;
}

const FRESH_EVENT_MS = 2 * 60_000;

export function Inbox({ agent, onSignOut, onSessionEnded }: Props) {
  const store = useMemo(() => new Store(initialState(agent)), [agent]);
  const state = useStore(store);
  const dispatch = store.dispatch;

  const sessionEnded = useRef(onSessionEnded);
  sessionEnded.current = onSessionEnded;
  const [notifyOn, setNotifyOn] = useState(notificationsWanted);
  const notifyRef = useRef(notifyOn);
  notifyRef.current = notifyOn;
  const [presence, setPresence] = useState<string>(agent.presence === "away" ? "away" : "online");
  const [presenceError, setPresenceError] = useState<string | null>(null);
  const [view, setView] = useState<"inbox" | "dashboard" | "admin">("inbox");
  const [accountOpen, setAccountOpen] = useState(false);
  const isLead = agent.role === "lead" || agent.role === "admin";
  // The dashboard (and its chart library) loads on first use: agents never download it.
  const [DashboardView, setDashboardView] = useState<typeof import("./Dashboard").Dashboard | null>(null);
  useEffect(() => {
    if (view === "dashboard" && !DashboardView) void import("./Dashboard").then((m) => setDashboardView(() => m.Dashboard));
  }, [view, DashboardView]);
  // The admin console likewise (admins and leads only).
  const [AdminView, setAdminView] = useState<typeof import("../admin/Admin").Admin | null>(null);
  useEffect(() => {
    if (view === "admin" && !AdminView) void import("../admin/Admin").then((m) => setAdminView(() => m.Admin));
  }, [view, AdminView]);
  const [quickReplies, setQuickReplies] = useState<QuickReply[]>([]);
  const [reloadTick, setReloadTick] = useState(0);
  const [messagesError, setMessagesError] = useState<{ id: string; error: string } | null>(null);
  // Start-up order, so no event falls between the REST load and the socket: read the newest
  // event seq first (undefined = still asking, null = unknown), then load the list, then open the
  // socket with ?after=<that seq>; it replays whatever happened in between.
  const [startSeq, setStartSeq] = useState<number | null | undefined>(undefined);
  const [listLoadedOnce, setListLoadedOnce] = useState(false);

  useEffect(() => {
    let cancelled = false;
    api.latestSeq().then(
      (seq) => !cancelled && setStartSeq(seq),
      () => !cancelled && setStartSeq(null), // an older server: connect without a resume point
    );
    return () => {
      cancelled = true;
    };
  }, []);

  const searchRef = useRef<HTMLInputElement | null>(null);

  // ------------------------------------------------------------ notifications
  const [notices, setNotices] = useState<{ items: AppNotification[]; unread: number }>({ items: [], unread: 0 });
  const loadNotices = useCallback(() => {
    api.notifications().then(
      (r) => setNotices({ items: r.items ?? [], unread: r.unread ?? 0 }),
      () => undefined, // an older server: the bell stays empty
    );
  }, []);
  useEffect(() => loadNotices(), [loadNotices]);
  const addNotice = useCallback((n: AppNotification) => {
    setNotices((current) =>
      current.items.some((x) => key(x.id) === key(n.id))
        ? current
        : { items: [n, ...current.items].slice(0, 50), unread: current.unread + (n.read ? 0 : 1) },
    );
  }, []);
  const readNotice = (id: Id | "all") =>
    setNotices((current) => {
      if (id === "all") return { items: current.items.map((n) => ({ ...n, read: true })), unread: 0 };
      const wasUnread = current.items.some((n) => key(n.id) === key(id) && !n.read);
      return {
        items: current.items.map((n) => (key(n.id) === key(id) ? { ...n, read: true } : n)),
        unread: Math.max(0, current.unread - (wasUnread ? 1 : 0)),
      };
    });

  // ------------------------------------------------------------ teams
  const teamsTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const loadTeams = useCallback(async () => {
    try {
      const result = await api.teams();
      dispatch({ type: "teams", teams: result.items ?? [] });
    } catch {
      dispatch({ type: "teams", teams: null }); // fall back to counting what we know
    }
  }, [dispatch]);
  const scheduleTeams = useCallback(() => {
    if (teamsTimer.current) clearTimeout(teamsTimer.current);
    teamsTimer.current = setTimeout(() => void loadTeams(), 400);
  }, [loadTeams]);

  const loadQuickReplies = useCallback(() => {
    api.quickReplies().then(
      (r) => setQuickReplies(r.items ?? []),
      () => setQuickReplies([]),
    );
  }, []);
  useLive(["quick_reply."], loadQuickReplies); // an admin's change reaches every composer
  useEffect(() => {
    void loadTeams();
    const poll = setInterval(() => void loadTeams(), 30_000);
    loadQuickReplies();
    return () => {
      clearInterval(poll);
      if (teamsTimer.current) clearTimeout(teamsTimer.current);
    };
  }, [loadTeams, loadQuickReplies]);

  // ------------------------------------------------------------ read receipts
  const readTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const markRead = useCallback(
    (id: Id) => {
      dispatch({ type: "read", id });
      if (readTimer.current) clearTimeout(readTimer.current);
      readTimer.current = setTimeout(() => {
        api.markRead(id).catch(() => undefined);
      }, 300);
    },
    [dispatch],
  );

  // ------------------------------------------------------------ realtime
  useEffect(() => {
    if (!listLoadedOnce) return undefined;
    const onFrame = (frame: Frame) => {
      dispatch({ type: "frame", frame });
      publishFrame(frame); // the admin pages update live from the same socket
      if (frame.type.startsWith("conversation.") || frame.type === "agent.presence") scheduleTeams();
      const fresh = Date.now() - Date.parse(frame.at) < FRESH_EVENT_MS;
      const notice = frame.data.notification as AppNotification | undefined;
      if (frame.type === "notification.created" && notice && typeof notice === "object") {
        addNotice(notice);
        if (notifyRef.current && fresh) notify("Switchboard", notice.text, `notification-${String(notice.id)}`);
      }
      if (frame.type === "conversation.queued" && notifyRef.current && fresh) {
        const c = frame.data.conversation;
        notify(
          "New conversation waiting",
          c ? `${contactName(c.contact)}${c.team ? ` · ${c.team}` : ""}: ${previewText(c.last_message)}` : "A customer is waiting",
          `queued-${frame.conversation_id ?? frame.seq}`,
        );
      }
      const message = frame.data.message;
      if (
        frame.type === "message.created" &&
        message?.direction === "inbound" &&
        store.state.selectedId === key(message.conversation_id) &&
        document.visibilityState === "visible"
      ) {
        markRead(message.conversation_id);
      }
    };
    const client = new RealtimeClient({
      url: defaultSocketUrl,
      onFrame,
      onState: (connection) => dispatch({ type: "connection", state: connection }),
      onOpen: ({ reconnect, resumed }) => {
        // Without a seq to resume from, events may have been missed: reload.
        if (reconnect && !resumed) {
          setReloadTick((t) => t + 1);
          loadNotices();
        }
        scheduleTeams();
      },
      onUnauthorized: () => sessionEnded.current(),
      lastSeq: startSeq ?? null,
    });
    client.start();
    return () => client.stop();
  }, [listLoadedOnce, startSeq, store, dispatch, scheduleTeams, markRead, addNotice, loadNotices]);

  // While the live connection is down, poll so the inbox never goes stale.
  useEffect(() => {
    if (state.connection !== "reconnecting") return undefined;
    const poll = setInterval(() => setReloadTick((t) => t + 1), 20_000);
    return () => clearInterval(poll);
  }, [state.connection]);

  // ------------------------------------------------------------ list
  const query = useDebounced(state.query, 250);
  const listAllowed = startSeq !== undefined;
  useEffect(() => {
    if (!listAllowed) return undefined;
    const controller = new AbortController();
    const listingKey = listKey(state.filter, query);
    dispatch({ type: "list/loading", key: listingKey });
    api.conversations({ ...filterQuery(state.filter), q: query.trim() || undefined }, controller.signal).then(
      (result) => {
        dispatch({ type: "list/loaded", key: listingKey, items: result.items ?? [] });
        setListLoadedOnce(true);
      },
      (err) => {
        if (controller.signal.aborted) return;
        setListLoadedOnce(true);
        const error =
          err instanceof ApiError && err.status === 404
            ? "Conversations are not available on this server yet."
            : `Could not load conversations: ${errorDetail(err)}`;
        dispatch({ type: "list/error", key: listingKey, error });
      },
    );
    return () => controller.abort();
  }, [listAllowed, state.filter, query, reloadTick, dispatch]);

  // ------------------------------------------------------------ selection
  const selectedId = state.selectedId;
  useEffect(() => {
    if (!selectedId) return undefined;
    let cancelled = false;
    setMessagesError(null);
    api.conversation(selectedId).then(
      (conversation) => !cancelled && dispatch({ type: "conversation/upsert", conversation, source: "fetch" }),
      () => undefined,
    );
    api.messages(selectedId).then(
      (result) => !cancelled && dispatch({ type: "messages/loaded", conversationId: selectedId, items: result.items ?? [] }),
      (err) => !cancelled && setMessagesError({ id: selectedId, error: errorDetail(err) }),
    );
    markRead(selectedId);
    return () => {
      cancelled = true;
    };
  }, [selectedId, reloadTick, dispatch, markRead]);

  // ------------------------------------------------------------ header controls
  const changePresence = async (next: string) => {
    const previous = presence;
    setPresence(next);
    setPresenceError(null);
    try {
      await api.setPresence(next === "away" ? "away" : "online");
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return; // not supported by this server yet
      setPresence(previous);
      setPresenceError(`Could not change presence: ${errorDetail(err)}`);
    }
  };

  const toggleNotify = (on: boolean) => {
    setNotifyOn(on);
    setNotificationsWanted(on);
    if (on) beep();
  };

  const conversations = visibleConversations(state);
  const selected = selectedId ? state.conversations[selectedId] ?? null : null;
  const select = (id: Id | null) => dispatch({ type: "select", id });

  // ------------------------------------------------------------ keyboard
  const [helpOpen, setHelpOpen] = useState(false);
  const keyboard = useRef({ conversations, selected, select });
  keyboard.current = { conversations, selected, select };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") setHelpOpen(false);
      const command = commandFor(e);
      if (!command) return;
      const { conversations: list, selected: open, select: choose } = keyboard.current;
      if (command === "next" || command === "previous") {
        const next = step(list.map((c) => key(c.id)), open ? key(open.id) : null, command === "next" ? 1 : -1);
        if (next) choose(next);
      } else if (command === "resolve") {
        if (!open || open.status === "resolved") return;
        api.resolve(open.id).then(
          (c) => dispatch({ type: "conversation/upsert", conversation: c, source: "event" }),
          () => undefined, // not the holder: the button says why
        );
      } else if (command === "search") {
        searchRef.current?.focus();
      } else if (command === "help") {
        setHelpOpen((v) => !v);
      }
      e.preventDefault();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [dispatch]);

  return (
    <div class="app">
      <header class="topbar">
        <div class="brand">
          <span class="logo" aria-hidden="true" />
          <span class="brand-name">Switchboard</span>
        </div>
        <SearchBox inputRef={searchRef} onOpen={(id) => (setView("inbox"), select(id))} />
        <div class="topbar-controls">
          <NotificationBell
            items={notices.items}
            unread={notices.unread}
            onOpen={(id) => (setView("inbox"), select(id))}
            onRead={readNotice}
          />
          <label class="toggle" title="Desktop notification and a short sound when a conversation is queued">
            <input type="checkbox" checked={notifyOn} onChange={(e) => toggleNotify(e.currentTarget.checked)} />
            <span>Notify me</span>
          </label>
          <div class={`presence presence-${presence}`}>
            <span class="dot" aria-hidden="true" />
            <label for="presence-select" class="sr-only">
              Presence
            </label>
            <select id="presence-select" value={presence} onChange={(e) => void changePresence(e.currentTarget.value)}>
              <option value="online">Online</option>
              <option value="away">Away</option>
            </select>
          </div>
          {isLead && (
            <button type="button" class="btn ghost" onClick={() => setView(view === "dashboard" ? "inbox" : "dashboard")}>
              {view === "dashboard" ? "Inbox" : "Dashboard"}
            </button>
          )}
          {isLead && (
            <button type="button" class="btn ghost" onClick={() => setView(view === "admin" ? "inbox" : "admin")}>
              {view === "admin" ? "Inbox" : "Admin"}
            </button>
          )}
          <span class="agent-name" title={`${agent.email} · ${agent.role}`}>
            {agent.name}
          </span>
          <button type="button" class="btn ghost" aria-expanded={accountOpen} onClick={() => setAccountOpen(!accountOpen)}>
            Account
          </button>
          <button type="button" class="btn ghost" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      {presenceError && (
        <p role="alert" class="error banner-error">
          {presenceError}
        </p>
      )}
      <ReconnectBanner connection={state.connection} />
      {accountOpen && <AccountDialog agent={agent} onClose={() => setAccountOpen(false)} />}
      {helpOpen && (
        <div class="shortcuts" role="dialog" aria-label="Keyboard shortcuts">
          <h2>Keyboard shortcuts</h2>
          <dl>
            {SHORTCUTS.map((s) => (
              <div key={s.key}>
                <dt>
                  <kbd>{s.key}</kbd>
                </dt>
                <dd>{s.what}</dd>
              </div>
            ))}
          </dl>
          <button type="button" class="btn" onClick={() => setHelpOpen(false)}>
            Close
          </button>
        </div>
      )}
      {view === "admin" && AdminView && <AdminView me={agent} />}
      {view === "dashboard" && DashboardView && (
        <DashboardView lastSeq={state.lastSeq} onOpen={(id) => (setView("inbox"), select(id))} />
      )}
      <div class={`panes${selected ? " has-selection" : ""}`} hidden={view !== "inbox"}>
        <QueueNav state={state} onFilter={(filter) => dispatch({ type: "filter", filter })} />
        <div class="list-pane">
          <div class="search">
            <label for="search-input" class="sr-only">
              Filter conversations
            </label>
            <input
              id="search-input"
              type="search"
              placeholder="Name or number"
              value={state.query}
              onInput={(e) => dispatch({ type: "query", query: e.currentTarget.value })}
            />
          </div>
          <ConversationList
            conversations={conversations}
            selectedId={selectedId}
            loading={state.listStatus === "loading"}
            error={state.listStatus === "error" ? state.listError : null}
            sla={state.sla}
            filterActive={state.query.trim() !== ""}
            onSelect={(id) => select(id)}
          />
        </div>
        <ConversationView
          conversation={selected}
          messages={selectedId ? state.messages[selectedId] : undefined}
          messagesError={messagesError && messagesError.id === selectedId ? messagesError.error : null}
          me={state.me}
          knownTeams={[...new Set([...(state.teams ?? []).map((t) => t.name), ...(agent.teams ?? [])])]}
          quickReplies={quickReplies}
          sla={selectedId ? state.sla[selectedId] : undefined}
          dispatch={dispatch}
          onBack={() => select(null)}
          onOpen={(id) => select(id)}
        />
      </div>
    </div>
  );
}
