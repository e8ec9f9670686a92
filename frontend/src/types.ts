// Shapes of the Switchboard API (see /shared/CONTRACT.md). Ids may be strings
// or integers depending on the backend; the UI always compares them as strings.

export type Id = string | number;

export type Role = "agent" | "lead" | "admin";
export type Presence = "online" | "away" | "offline";

export interface Agent {
  id: Id;
  email: string;
  name: string;
  role: Role | string;
  teams: string[];
  presence?: Presence | string;
}

export interface PersonRef {
  id: Id;
  name: string;
}

export interface Contact {
  wa_id: string;
  name: string | null;
}

export type ConversationStatus = "bot" | "queued" | "assigned" | "resolved";

export interface Conversation {
  id: Id;
  status: ConversationStatus | string;
  team: string | null;
  assignee: PersonRef | null;
  contact: Contact;
  channel_id: Id;
  created_at: string;
  updated_at: string;
  last_message: Message | null;
  priority?: number | string | null;
  queued_at?: string | null;
  /** When the 24-hour customer-service window closes; null or past = closed; absent = unknown. */
  window_expires_at?: string | null;
  unread?: number;
}

export type MessageStatus =
  | "received"
  | "queued"
  | "sent"
  | "delivered"
  | "read"
  | "failed"
  | "dead";

export type Sender = "customer" | "bot" | "agent" | "system";

export interface MessageError {
  code: string | number;
  title: string;
}

export interface Message {
  id: Id;
  conversation_id: Id;
  direction: "inbound" | "outbound";
  sender: Sender | string;
  sender_agent?: PersonRef | null;
  type: string;
  text: string | null;
  payload: unknown;
  status: MessageStatus | string;
  error: MessageError | null;
  provider_message_id?: string | null;
  created_at: string;
}

export interface Team {
  id: Id;
  name: string;
  queued: number;
  assigned?: number;
  oldest_wait_seconds?: number | null;
  agents_online?: number;
}

export interface AgentSummary {
  id: Id;
  name: string;
  role: Role | string;
  teams: string[];
  presence?: Presence | string;
}

export interface QuickReply {
  id: Id;
  shortcut: string;
  title: string;
  text: string;
}

export interface Items<T> {
  items: T[];
}

export type FrameType =
  | "conversation.created"
  | "conversation.queued"
  | "conversation.claimed"
  | "conversation.released"
  | "conversation.transferred"
  | "conversation.resolved"
  | "conversation.reopened"
  | "message.created"
  | "message.status"
  | "sla.warning"
  | "sla.breached";

/** One websocket frame. */
export interface Frame {
  seq: number;
  type: FrameType | string;
  conversation_id: Id | null;
  at: string;
  data: {
    conversation?: Conversation;
    message?: Message;
    [key: string]: unknown;
  };
}

export interface LoginResult {
  token: string;
  agent: Agent;
}
