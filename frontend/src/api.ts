// One small fetch wrapper for the Switchboard API: same-origin cookies, the
// double-submit CSRF header on unsafe methods, errors parsed into
// {status, detail}, typed results.

import type {
  Agent,
  AppNotification,
  ContactProfile,
  LabelInfo,
  SearchResults,
  AgentSummary,
  Conversation,
  Frame,
  Id,
  Items,
  LoginResult,
  Message,
  QueueStat,
  QuickReply,
  Report,
  ReportRow,
  Team,
  Template,
  TemplateFigures,
  UploadedFile,
} from "./types";

import { fieldErrors } from "./admin/forms";

export const CSRF_COOKIE = "sb_csrf";
export const CSRF_HEADER = "x-csrf-token";

/** An HTTP error (status > 0) or a network failure (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly detail: string;
  /** The error body as the server sent it (e.g. `two_factor_required` on sign-in). */
  readonly body: unknown;
  /** Field → reason, when the API named the fields (admin forms show them inline). */
  readonly fields: Record<string, string>;

  constructor(status: number, detail: string, body: unknown = null) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
    this.body = body;
    this.fields = fieldErrors(body);
  }

  /** Worth retrying with the same idempotency key: network down, timeouts, 5xx. */
  get transient(): boolean {
    return this.status === 0 || this.status === 408 || this.status >= 500;
  }
}

export function errorDetail(err: unknown): string {
  if (err instanceof ApiError) return err.detail;
  if (err instanceof Error) return err.message;
  return String(err);
}

export function readCookie(name: string, cookies: string = document.cookie): string | null {
  for (const part of cookies.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

let unauthorizedHandler: (() => void) | null = null;

/** Called when a signed-in request comes back 401 (the session ended). */
export function onUnauthorized(handler: (() => void) | null): void {
  unauthorizedHandler = handler;
}

let csrfFetch: Promise<void> | null = null;

/** The server sets the CSRF cookie on any GET response; make sure we have one. */
async function ensureCsrfCookie(force = false): Promise<string | null> {
  if (!force) {
    const existing = readCookie(CSRF_COOKIE);
    if (existing) return existing;
  }
  if (!csrfFetch) {
    csrfFetch = (async () => {
      for (const path of ["/api/v1/auth/me", "/health"]) {
        try {
          await fetch(path, { credentials: "same-origin", headers: { accept: "application/json" } });
        } catch {
          /* the real request will report the network error */
        }
        if (readCookie(CSRF_COOKIE)) return;
      }
    })().finally(() => {
      csrfFetch = null;
    });
  }
  await csrfFetch;
  return readCookie(CSRF_COOKIE);
}

export type Query = Record<string, string | number | null | undefined>;

export interface RequestOptions {
  /** Answer with the body as a Blob (a file download) instead of parsing it. */
  blob?: boolean;
  body?: unknown;
  query?: Query;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Do not treat a 401 as "session ended" (sign-in and who-am-I use this). */
  quiet401?: boolean;
  /** Skip the CSRF header (sign-in is exempt: there is no session yet). */
  noCsrf?: boolean;
  /** A multipart body (uploads) instead of JSON. */
  form?: FormData;
  /** A plain-text body (a bot flow's YAML) instead of JSON. */
  text?: string;
}

export function buildUrl(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

async function parseBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return null;
  const type = response.headers.get("content-type") ?? "";
  if (type.includes("json")) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

function detailOf(status: number, body: unknown, fallback: string): string {
  if (body && typeof body === "object" && "detail" in body) {
    const detail = (body as { detail: unknown }).detail;
    if (typeof detail === "string" && detail) return detail;
    if (detail) return JSON.stringify(detail);
  }
  if (typeof body === "string" && body.trim() && body.length < 300) return body.trim();
  return fallback || `Request failed (${status})`;
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const verb = method.toUpperCase();
  const send = async (forceCsrf: boolean): Promise<Response> => {
    const headers: Record<string, string> = { accept: "application/json", ...options.headers };
    if (options.body !== undefined && !options.form) headers["content-type"] = "application/json";
    if (options.text !== undefined) headers["content-type"] = "text/plain; charset=utf-8";
    if (UNSAFE.has(verb) && !options.noCsrf) {
      const token = await ensureCsrfCookie(forceCsrf);
      if (token) headers[CSRF_HEADER] = token;
    }
    try {
      return await fetch(buildUrl(path, options.query), {
        method: verb,
        headers,
        credentials: "same-origin",
        body: options.form ?? options.text ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
        signal: options.signal,
      });
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") throw err;
      throw new ApiError(0, "Cannot reach the server. Check your connection.");
    }
  };

  let response = await send(false);
  if (options.blob && response.ok) return (await response.blob()) as T; // a file, not JSON
  let body = await parseBody(response);
  if (
    response.status === 403 &&
    UNSAFE.has(verb) &&
    /csrf/i.test(detailOf(403, body, ""))
  ) {
    // A stale or missing CSRF cookie: fetch a fresh one and try once more.
    response = await send(true);
    body = await parseBody(response);
  }
  if (!response.ok) {
    const error = new ApiError(response.status, detailOf(response.status, body, response.statusText), body);
    if (response.status === 401 && !options.quiet401) unauthorizedHandler?.();
    throw error;
  }
  return body as T;
}

const enc = (id: Id) => encodeURIComponent(String(id));

export interface ConversationQuery {
  status?: string;
  team?: string;
  assignee?: string;
  q?: string;
}

export type TransferTarget = { team: string } | { agent_id: Id };

export const api = {
  login: (email: string, password: string, code?: string) =>
    request<LoginResult>("POST", "/api/v1/auth/login", {
      body: code ? { email, password, code } : { email, password },
      quiet401: true,
      noCsrf: true,
    }),
  me: () => request<Agent>("GET", "/api/v1/auth/me", { quiet401: true }),
  logout: () => request<unknown>("POST", "/api/v1/auth/logout", { quiet401: true }),
  setPresence: (presence: "online" | "away") =>
    request<unknown>("POST", "/api/v1/agents/me/presence", { body: { presence } }),

  conversations: (query: ConversationQuery, signal?: AbortSignal) =>
    request<Items<Conversation>>("GET", "/api/v1/conversations", { query: { ...query }, signal }),
  conversation: (id: Id) => request<Conversation>("GET", `/api/v1/conversations/${enc(id)}`),
  messages: (id: Id) => request<Items<Message>>("GET", `/api/v1/conversations/${enc(id)}/messages`),
  claim: (id: Id) => request<Conversation>("POST", `/api/v1/conversations/${enc(id)}/claim`),
  release: (id: Id) => request<Conversation>("POST", `/api/v1/conversations/${enc(id)}/release`),
  resolve: (id: Id) => request<Conversation>("POST", `/api/v1/conversations/${enc(id)}/resolve`),
  reopen: (id: Id) => request<Conversation>("POST", `/api/v1/conversations/${enc(id)}/reopen`),
  transfer: (id: Id, target: TransferTarget) =>
    request<Conversation>("POST", `/api/v1/conversations/${enc(id)}/transfer`, { body: target }),
  consent: (id: Id) =>
    request<{ opted_out: boolean; changes: Array<{ opted_out: boolean; source: string; detail: string | null; at: string }> }>(
      "GET",
      `/api/v1/contacts/${enc(id)}/consent`,
    ),
  contact: (id: Id) => request<ContactProfile>("GET", `/api/v1/contacts/${enc(id)}`),
  updateContact: (id: Id, patch: Record<string, unknown>) =>
    request<ContactProfile>("PATCH", `/api/v1/contacts/${enc(id)}`, { body: patch }),
  setLabels: (id: Id, labels: string[]) =>
    request<Conversation>("PUT", `/api/v1/conversations/${enc(id)}/labels`, { body: { labels } }),
  search: (q: string, signal?: AbortSignal) => request<SearchResults>("GET", "/api/v1/search", { query: { q }, signal }),
  labels: () => request<Items<LabelInfo>>("GET", "/api/v1/labels"),
  fill: (id: Id, text: string) =>
    request<{ text: string; missing: string[] }>("POST", `/api/v1/conversations/${enc(id)}/fill`, { body: { text } }),
  typing: (id: Id) => request<{ sent: boolean }>("POST", `/api/v1/conversations/${enc(id)}/typing`),
  addNote: (id: Id, text: string, mentions: Id[]) =>
    request<Message>("POST", `/api/v1/conversations/${enc(id)}/notes`, { body: { text, mentions } }),
  snooze: (id: Id, until: string) =>
    request<Conversation>("POST", `/api/v1/conversations/${enc(id)}/snooze`, { body: { until } }),
  notifications: () => request<Items<AppNotification> & { unread: number }>("GET", "/api/v1/me/notifications"),
  readNotification: (id: Id) => request<AppNotification>("POST", `/api/v1/me/notifications/${enc(id)}/read`),
  readAllNotifications: () => request<{ marked: number }>("POST", "/api/v1/me/notifications/read-all"),
  markRead: (id: Id) => request<unknown>("POST", `/api/v1/conversations/${enc(id)}/read`),
  viewing: (id: Id) =>
    request<Items<{ id: number; name: string }>>("POST", `/api/v1/conversations/${enc(id)}/viewers`),
  sendText: (id: Id, text: string, idempotencyKey: string) =>
    request<Message>("POST", `/api/v1/conversations/${enc(id)}/messages`, {
      body: { text },
      headers: { "Idempotency-Key": idempotencyKey },
    }),
  sendTemplate: (id: Id, template: Record<string, unknown>, idempotencyKey: string) =>
    request<Message>("POST", `/api/v1/conversations/${enc(id)}/messages`, {
      body: { template },
      headers: { "Idempotency-Key": idempotencyKey },
    }),
  templates: (query: Query) => request<Items<Template>>("GET", "/api/v1/templates", { query }),
  templateReport: (query: Query) => request<Items<TemplateFigures>>("GET", "/api/v1/templates/stats", { query }),
  retryMessage: (id: Id) => request<Message | null>("POST", `/api/v1/messages/${enc(id)}/retry`),
  retryMedia: (id: Id) => request<Message>("POST", `/api/v1/messages/${enc(id)}/media/retry`),
  upload: (file: File) => {
    const form = new FormData();
    form.append("file", file, file.name || "pasted-image.png");
    return request<UploadedFile>("POST", "/api/v1/uploads", { form });
  },
  sendMedia: (id: Id, uploadId: Id, caption: string, idempotencyKey: string) =>
    request<Message>("POST", `/api/v1/conversations/${enc(id)}/messages`, {
      body: { media: caption ? { upload_id: uploadId, caption } : { upload_id: uploadId } },
      headers: { "Idempotency-Key": idempotencyKey },
    }),

  teams: () => request<Items<Team>>("GET", "/api/v1/teams"),
  agents: () => request<Items<AgentSummary>>("GET", "/api/v1/agents"),
  quickReplies: () => request<Items<QuickReply>>("GET", "/api/v1/quick-replies"),
  queueStats: () => request<Items<QueueStat> & { generated_at: string }>("GET", "/api/v1/stats/queues"),
  report: (period: Query) => request<Report>("GET", "/api/v1/reports/summary", { query: period }),
  reportConversations: (period: Query, chart: string, key: string) =>
    request<Items<ReportRow>>("GET", "/api/v1/reports/conversations", { query: { ...period, chart, key } }),
  /** The newest event seq: where the websocket resumes so nothing after the REST load is missed. */
  latestSeq: () =>
    request<Items<Frame> & { latest_seq: number }>("GET", "/api/v1/events", { query: { after: 0, limit: 1 } }).then(
      (r) => (typeof r?.latest_seq === "number" ? r.latest_seq : null),
    ),
};

/** A random idempotency key (UUID v4). */
export function newIdempotencyKey(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (c && typeof c.getRandomValues === "function") c.getRandomValues(bytes);
  else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
