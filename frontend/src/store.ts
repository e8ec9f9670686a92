// Inbox state and the pure reducer that applies API results and websocket
// frames to it. Framework-free: components subscribe through `useStore`
// (see hooks.ts); tests can drive `reduce` directly.

import type { ConnectionState } from "./realtime";
import type { Agent, Conversation, Frame, Id, Message, Team } from "./types";

export type Filter =
  | { kind: "mine" }
  | { kind: "queued" }
  | { kind: "all" }
  | { kind: "resolved" }
  | { kind: "team"; team: string };

export type SlaFlag = "warning" | "breached";

export interface State {
  me: Agent;
  conversations: Record<string, Conversation>;
  /** Messages of conversations that have been opened, oldest first. */
  messages: Record<string, Message[]>;
  filter: Filter;
  query: string;
  /** Ids the server returned for the current filter + query (search may match more than names). */
  resultIds: string[];
  resultKey: string;
  listStatus: "loading" | "ready" | "error";
  listError: string | null;
  selectedId: string | null;
  teams: Team[] | null;
  lastSeq: number | null;
  connection: ConnectionState;
  sla: Record<string, SlaFlag>;
}

export type Action =
  | { type: "filter"; filter: Filter }
  | { type: "query"; query: string }
  | { type: "list/loading"; key: string }
  | { type: "list/loaded"; key: string; items: Conversation[] }
  | { type: "list/error"; key: string; error: string }
  | { type: "conversation/upsert"; conversation: Conversation; source: "event" | "fetch" }
  | { type: "messages/loaded"; conversationId: Id; items: Message[] }
  | { type: "message/upsert"; message: Message; source: "event" | "local" }
  | { type: "frame"; frame: Frame }
  | { type: "select"; id: Id | null }
  | { type: "read"; id: Id }
  | { type: "teams"; teams: Team[] | null }
  | { type: "connection"; state: ConnectionState }
  | { type: "me"; me: Agent };

export const key = (id: Id): string => String(id);

export function initialState(me: Agent, filter: Filter = { kind: "all" }): State {
  return {
    me,
    conversations: {},
    messages: {},
    filter,
    query: "",
    resultIds: [],
    resultKey: "",
    listStatus: "loading",
    listError: null,
    selectedId: null,
    teams: null,
    lastSeq: null,
    connection: "connecting",
    sla: {},
  };
}

// ---------------------------------------------------------------- filters

export function filterQuery(filter: Filter): { status?: string; team?: string; assignee?: string } {
  switch (filter.kind) {
    case "mine":
      return { status: "assigned", assignee: "me" };
    case "queued":
      return { status: "queued" };
    case "resolved":
      return { status: "resolved" };
    case "team":
      return { status: "queued", team: filter.team };
    case "all":
      return {};
  }
}

export function listKey(filter: Filter, query: string): string {
  return JSON.stringify([filterQuery(filter), query.trim()]);
}

export function sameFilter(a: Filter, b: Filter): boolean {
  return a.kind === b.kind && (a.kind !== "team" || (b.kind === "team" && a.team === b.team));
}

export function isMine(c: Conversation, me: Agent): boolean {
  return c.assignee !== null && c.assignee !== undefined && key(c.assignee.id) === key(me.id);
}

export function matchesFilter(c: Conversation, filter: Filter, me: Agent): boolean {
  switch (filter.kind) {
    case "mine":
      return c.status === "assigned" && isMine(c, me);
    case "queued":
      return c.status === "queued";
    case "resolved":
      return c.status === "resolved";
    case "team":
      return c.status === "queued" && c.team === filter.team;
    case "all":
      return true;
  }
}

export function matchesQuery(c: Conversation, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  const name = (c.contact?.name ?? "").toLowerCase();
  const waId = (c.contact?.wa_id ?? "").toLowerCase();
  const username = (c.contact?.username ?? "").toLowerCase();
  const digits = q.replace(/[^0-9]/g, "");
  return name.includes(q) || waId.includes(q) || (username !== "" && `@${username}`.includes(q)) || (digits.length > 0 && waId.replace(/[^0-9]/g, "").includes(digits));
}

const time = (iso: string | null | undefined): number => {
  if (!iso) return 0;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 0 : t;
};

/** The conversation list for the current filter and search, newest activity first. */
export function visibleConversations(state: State): Conversation[] {
  const fromServer = state.resultKey === listKey(state.filter, state.query) ? new Set(state.resultIds) : new Set<string>();
  const list = Object.values(state.conversations).filter(
    (c) => matchesFilter(c, state.filter, state.me) && (matchesQuery(c, state.query) || fromServer.has(key(c.id))),
  );
  return list.sort((a, b) => time(b.updated_at) - time(a.updated_at) || (key(b.id) < key(a.id) ? -1 : 1));
}

/** Queued count per team: from /teams when available, else counted from what we know. */
export function teamCounts(state: State): { name: string; queued: number }[] {
  if (state.teams) return state.teams.map((t) => ({ name: t.name, queued: t.queued ?? 0 }));
  const names = new Set(state.me.teams ?? []);
  for (const c of Object.values(state.conversations)) if (c.team) names.add(c.team);
  return [...names].sort().map((name) => ({
    name,
    queued: Object.values(state.conversations).filter((c) => c.status === "queued" && c.team === name).length,
  }));
}

export function mineCount(state: State): number {
  return Object.values(state.conversations).filter((c) => c.status === "assigned" && isMine(c, state.me)).length;
}

// ---------------------------------------------------------------- reducer

function upsertConversation(state: State, incoming: Conversation, source: "event" | "fetch"): State {
  const id = key(incoming.id);
  const existing = state.conversations[id];
  // A fetch that started before a live event may return an older copy: keep the newer one.
  if (existing && source === "fetch" && time(existing.updated_at) > time(incoming.updated_at)) return state;
  const merged: Conversation = { ...incoming };
  // Keep a newer last message that we learned about from a message event.
  if (existing?.last_message && (!merged.last_message || time(existing.last_message.created_at) > time(merged.last_message.created_at))) {
    merged.last_message = existing.last_message;
  }
  if (state.selectedId === id) merged.unread = 0;
  let sla = state.sla;
  if (merged.status === "resolved" && sla[id]) {
    sla = { ...sla };
    delete sla[id];
  }
  return { ...state, conversations: { ...state.conversations, [id]: merged }, sla };
}

function sortMessages(list: Message[]): Message[] {
  return list.sort((a, b) => time(a.created_at) - time(b.created_at));
}

function upsertMessage(state: State, message: Message, source: "event" | "local", isNew: boolean): State {
  const cid = key(message.conversation_id);
  const mid = key(message.id);
  let messages = state.messages;
  const list = messages[cid];
  if (list) {
    const index = list.findIndex((m) => key(m.id) === mid);
    if (index >= 0) {
      // The local copy (the 202 response) must never overwrite a newer status from the socket.
      if (source === "local") return state;
      const next = list.slice();
      next[index] = message;
      messages = { ...messages, [cid]: next };
    } else {
      messages = { ...messages, [cid]: sortMessages([...list, message]) };
    }
  } else if (source === "local") {
    messages = { ...messages, [cid]: [message] };
  }

  let conversations = state.conversations;
  const convo = conversations[cid];
  if (convo) {
    const last = convo.last_message;
    const updated: Conversation = { ...convo };
    let changed = false;
    if (!last || key(last.id) === mid || time(message.created_at) >= time(last.created_at)) {
      const wasKnown = last !== null && key(last.id) === mid;
      updated.last_message = message;
      changed = true;
      if (isNew && !wasKnown && time(message.created_at) > time(updated.updated_at)) updated.updated_at = message.created_at;
      if (isNew && !wasKnown && message.direction === "inbound" && state.selectedId !== cid) {
        updated.unread = (convo.unread ?? 0) + 1;
      }
    }
    if (changed) conversations = { ...conversations, [cid]: updated };
  }
  return { ...state, messages, conversations };
}

function applyFrame(state: State, frame: Frame): State {
  if (state.lastSeq !== null && frame.seq <= state.lastSeq) return state;
  let next: State = { ...state, lastSeq: frame.seq };
  const { conversation, message } = frame.data ?? {};
  if (conversation && typeof conversation === "object" && "id" in conversation) {
    next = upsertConversation(next, conversation, "event");
  }
  if (message && typeof message === "object" && "id" in message) {
    next = upsertMessage(next, message, "event", frame.type === "message.created");
  }
  if ((frame.type === "sla.warning" || frame.type === "sla.breached") && frame.conversation_id !== null) {
    const id = key(frame.conversation_id);
    const flag: SlaFlag = frame.type === "sla.breached" ? "breached" : "warning";
    if (!(next.sla[id] === "breached" && flag === "warning")) next = { ...next, sla: { ...next.sla, [id]: flag } };
  }
  return next;
}

export function reduce(state: State, action: Action): State {
  switch (action.type) {
    case "me":
      return { ...state, me: action.me };
    case "filter":
      if (sameFilter(state.filter, action.filter)) return state;
      return { ...state, filter: action.filter };
    case "query":
      return action.query === state.query ? state : { ...state, query: action.query };
    case "list/loading":
      return { ...state, listStatus: "loading", listError: null, resultKey: action.key === state.resultKey ? state.resultKey : "" };
    case "list/loaded": {
      let next = state;
      for (const c of action.items) next = upsertConversation(next, c, "fetch");
      if (action.key !== listKey(state.filter, state.query)) return next;
      return { ...next, resultIds: action.items.map((c) => key(c.id)), resultKey: action.key, listStatus: "ready", listError: null };
    }
    case "list/error":
      if (action.key !== listKey(state.filter, state.query)) return state;
      return { ...state, listStatus: "error", listError: action.error };
    case "conversation/upsert":
      return upsertConversation(state, action.conversation, action.source);
    case "messages/loaded": {
      const cid = key(action.conversationId);
      const loaded = action.items.slice();
      const ids = new Set(loaded.map((m) => key(m.id)));
      // Keep messages that arrived over the socket while the request was in flight.
      for (const m of state.messages[cid] ?? []) if (!ids.has(key(m.id))) loaded.push(m);
      return { ...state, messages: { ...state.messages, [cid]: sortMessages(loaded) } };
    }
    case "message/upsert":
      return upsertMessage(state, action.message, action.source, true);
    case "frame":
      return applyFrame(state, action.frame);
    case "select": {
      const id = action.id === null ? null : key(action.id);
      if (id === state.selectedId) return state;
      const next = { ...state, selectedId: id };
      const convo = id ? state.conversations[id] : undefined;
      if (id && convo && convo.unread) next.conversations = { ...state.conversations, [id]: { ...convo, unread: 0 } };
      return next;
    }
    case "read": {
      const id = key(action.id);
      const convo = state.conversations[id];
      if (!convo || !convo.unread) return state;
      return { ...state, conversations: { ...state.conversations, [id]: { ...convo, unread: 0 } } };
    }
    case "teams":
      return { ...state, teams: action.teams };
    case "connection":
      return state.connection === action.state ? state : { ...state, connection: action.state };
  }
}

// ---------------------------------------------------------------- store

export type Listener = () => void;

export class Store {
  private current: State;
  private readonly listeners = new Set<Listener>();

  constructor(state: State) {
    this.current = state;
  }

  get state(): State {
    return this.current;
  }

  dispatch = (action: Action): void => {
    const next = reduce(this.current, action);
    if (next === this.current) return;
    this.current = next;
    for (const listener of this.listeners) listener();
  };

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
