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
  id?: Id;
  /** null when WhatsApp withholds the number of a customer with a username */
  wa_id: string | null;
  /** the business-scoped user id (BSUID) */
  user_id?: string | null;
  username?: string | null;
  name: string | null;
  /** The contact's language (e.g. "de"), when known: the template picker offers it first. */
  language?: string | null;
}

export type ConversationStatus = "bot" | "queued" | "assigned" | "snoozed" | "resolved";

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
  /** SLA clocks (absent on older servers; null when no policy applies). */
  sla?: SlaSummary | null;
  labels?: string[];
  /** While snoozed: when it comes back by itself. */
  snoozed_until?: string | null;
}

/** One entry of the notification centre (GET /api/v1/me/notifications). */
export interface AppNotification {
  id: Id;
  kind: "mention" | "assigned" | "transferred" | "sla_warning" | "sla_breached" | "snoozed_answered" | string;
  conversation_id: Id | null;
  text: string;
  data: Record<string, unknown>;
  read: boolean;
  read_at: string | null;
  created_at: string;
}

export type SlaState = "running" | "warned" | "paused" | "met" | "breached";

export interface SlaClock {
  id: Id;
  kind: "first_response" | "next_response" | "resolution" | string;
  state: SlaState | string;
  started_at: string;
  warn_at: string | null;
  due_at: string | null;
  met_at: string | null;
  breached_at: string | null;
}

export interface SlaSummary {
  state: SlaState | string;
  due_at: string | null;
  clocks: SlaClock[];
}

export interface QueueStat {
  id: Id;
  name: string;
  queued: number;
  assigned: number;
  oldest_wait_seconds: number;
  agents_online: number;
  agents_away: number;
  sla: {
    at_risk: number;
    breached_open: number;
    met: number;
    breached: number;
    met_percent: number | null;
    window_hours: number;
  };
}

export interface ChartBucket {
  key: string;
  label: string;
  count: number;
}

export interface SlaBar {
  key: string;
  label: string;
  met: number;
  breached: number;
  met_percent: number | null;
}

export interface Distribution {
  buckets: ChartBucket[];
  count: number;
  average_seconds: number | null;
  median_seconds: number | null;
}

export interface Report {
  totals: { conversations: number; resolved: number };
  by_hour: ChartBucket[];
  first_response: Distribution;
  resolution: Distribution;
  sla_by_team: SlaBar[];
  sla_by_agent: SlaBar[];
  csat: { average: number | null; responses: number; buckets: ChartBucket[] };
  delivery: {
    settled: number;
    delivery_rate: number | null;
    read_rate: number | null;
    reply_rate: number | null;
    buckets: ChartBucket[];
  };
  /** Meta's pricing of our messages: billable and free per category, billable per day. */
  billing: {
    billable: number;
    free: number;
    by_category: { category: string; billable: number; free: number }[];
    billable_by_day: { day: string; by_category: Record<string, number> }[];
  };
}

export interface ReportRow {
  id: Id;
  contact: string;
  team: string | null;
  assignee: string | null;
  status: string;
  created_at: string;
  first_response_seconds: number | null;
  resolution_seconds: number | null;
  csat: number | null;
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

/** A message's file (CONTRACT.md): `url` once stored; `pending` while it is fetched. */
export interface MessageMedia {
  kind: "image" | "audio" | "video" | "document" | "sticker" | string;
  mime_type: string | null;
  filename: string | null;
  caption: string | null;
  voice?: boolean;
  size: number | null;
  sha256: string | null;
  state: "pending" | "stored" | "failed" | string;
  error: string | null;
  url: string | null;
}

/** What `POST /api/v1/uploads` answers. */
export interface UploadedFile {
  id: Id;
  filename: string;
  mime_type: string;
  size: number;
  kind: string;
}

export interface Message {
  id: Id;
  conversation_id: Id;
  direction: "inbound" | "outbound";
  sender: Sender | string;
  sender_agent?: PersonRef | null;
  type: string;
  /** true for agents' notes (`type: "note"`): never sent to the customer */
  private?: boolean;
  text: string | null;
  payload: unknown;
  status: MessageStatus | string;
  error: MessageError | null;
  provider_message_id?: string | null;
  created_at: string;
  /** Which template, version and language a template message used. */
  template?: { id: Id; name: string | null; version: number; language: string } | null;
  media?: MessageMedia | null;
}

export interface TemplateParameter {
  component: "header" | "body" | "button" | string;
  name: string;
  type: string;
  index: number | null;
  example: string | null;
}

export interface Template {
  id: Id;
  channel_id: Id;
  name: string;
  language: string;
  category: string;
  status: string;
  quality: string | null;
  reason: string | null;
  parameter_format: "POSITIONAL" | "NAMED" | string;
  components: Array<Record<string, unknown> & { type?: string; text?: unknown }>;
  parameters: TemplateParameter[];
  version: number;
  offered: boolean;
  preview: string;
  languages: Array<{ id: Id; language: string; status: string }>;
}

export interface TemplateFigures {
  template_id: Id;
  name: string;
  language: string;
  status: string;
  sent: number;
  delivered: number;
  read: number;
  replied: number;
  pending: number;
  failed: Record<string, number>;
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
  | "sla.breached"
  | "sla.updated"
  | "agent.presence"
  | "team.updated"
  | "conversation.snoozed"
  | "conversation.woken"
  | "notification.created";

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

/** The customer's profile (GET /api/v1/contacts/{id}). */
export interface ContactProfile {
  id: Id;
  wa_id: string | null;
  user_id: string | null;
  username: string | null;
  name: string | null;
  language: string | null;
  time_zone: string | null;
  opted_out: boolean;
  attributes: Record<string, string | number | boolean>;
  labels: string[];
  conversations: Array<{
    id: Id;
    status: string;
    team: string | null;
    created_at: string;
    resolved_at: string | null;
    csat: number | null;
    visible: boolean;
  }>;
}

export interface LabelInfo {
  id: Id;
  name: string;
  colour: string;
  description: string | null;
}

/** GET /api/v1/search?q= */
export interface SearchResults {
  messages: Array<{ message: Message; conversation_id: Id; excerpt: string; highlights?: Array<[number, number]> }>;
  contacts: Array<{ id: Id; wa_id: string | null; user_id: string | null; username: string | null; name: string | null }>;
}
