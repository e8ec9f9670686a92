// The websocket client with resume. Framework-free: everything it touches
// (WebSocket, timers, randomness) can be injected, so it is testable without a
// browser.
//
// - remembers the last `seq` seen and reconnects with `?after=<seq>`, so the
//   server replays every event missed while disconnected;
// - drops frames with seq <= last seq (replays overlapping live events);
// - reconnects with exponential backoff (0.5 s doubling to 10 s, with jitter);
// - close code 4401 means "not signed in": it stops and reports it;
// - close code 4409 means "the events after your seq were pruned": it forgets the
//   seq and reconnects without one, so the inbox reloads its state (onOpen says
//   `resumed: false`) and goes on from there.

import type { Frame } from "./types";

export type ConnectionState = "connecting" | "open" | "reconnecting" | "stopped";

export const UNAUTHORIZED_CLOSE_CODE = 4401;
export const RESUME_TOO_OLD_CLOSE_CODE = 4409;

export interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(code?: number, reason?: string): void;
}

export interface OpenInfo {
  /** True for every connection after the first. */
  reconnect: boolean;
  /** True when the connection asked the server to replay from a known seq. */
  resumed: boolean;
}

export interface RealtimeOptions {
  /** Builds the websocket URL; `after` is the last seq seen, or null. */
  url: (after: number | null) => string;
  onFrame: (frame: Frame) => void;
  onState?: (state: ConnectionState) => void;
  onOpen?: (info: OpenInfo) => void;
  onUnauthorized?: () => void;
  /** Seq to resume after on the very first connection. */
  lastSeq?: number | null;
  minDelayMs?: number;
  maxDelayMs?: number;
  createSocket?: (url: string) => SocketLike;
  random?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

/**
 * Delay before reconnect attempt `attempt` (0-based): 0.5 s, 1 s, 2 s, … capped at
 * 10 s, each with ±20 % jitter (never above `max`) so that many browsers
 * dropped by the same server restart do not reconnect in lockstep.
 */
export function backoffDelay(attempt: number, min = 500, max = 10_000, random: () => number = Math.random): number {
  const step = Math.min(max, min * 2 ** Math.max(0, attempt));
  return Math.round(Math.min(max, step * (0.8 + random() * 0.4)));
}

/** ws:// or wss:// on the page's own host. */
export function defaultSocketUrl(after: number | null, loc: Pick<Location, "protocol" | "host"> = location): string {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  const query = after === null ? "" : `?after=${after}`;
  return `${scheme}//${loc.host}/api/v1/ws${query}`;
}

export function parseFrame(data: unknown): Frame | null {
  if (typeof data !== "string") return null;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (!value || typeof value !== "object") return null;
  const frame = value as Partial<Frame>;
  if (typeof frame.seq !== "number" || typeof frame.type !== "string") return null;
  return {
    seq: frame.seq,
    type: frame.type,
    conversation_id: frame.conversation_id ?? null,
    at: typeof frame.at === "string" ? frame.at : new Date().toISOString(),
    data: frame.data && typeof frame.data === "object" ? frame.data : {},
  };
}

export class RealtimeClient {
  private readonly options: RealtimeOptions;
  private socket: SocketLike | null = null;
  private timer: unknown = null;
  private attempt = 0;
  private connections = 0;
  private running = false;
  private seq: number | null;
  private state: ConnectionState = "stopped";
  private readonly onOnline = () => {
    if (this.running && this.state === "reconnecting") this.reconnectNow();
  };

  constructor(options: RealtimeOptions) {
    this.options = options;
    this.seq = options.lastSeq ?? null;
  }

  get lastSeq(): number | null {
    return this.seq;
  }

  get connectionState(): ConnectionState {
    return this.state;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    if (typeof globalThis.addEventListener === "function") globalThis.addEventListener("online", this.onOnline);
    this.connect();
  }

  stop(): void {
    this.running = false;
    if (typeof globalThis.removeEventListener === "function") globalThis.removeEventListener("online", this.onOnline);
    this.cancelTimer();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try {
        socket.close(1000, "client stopped");
      } catch {
        /* already closed */
      }
    }
    this.setState("stopped");
  }

  /** Skip the remaining backoff and try again immediately. */
  reconnectNow(): void {
    if (!this.running) return;
    this.cancelTimer();
    if (!this.socket) this.connect();
  }

  /** Feed one raw frame (also used by tests). Returns whether it was applied. */
  receive(raw: unknown): boolean {
    const frame = parseFrame(raw);
    if (!frame) return false;
    if (this.seq !== null && frame.seq <= this.seq) return false;
    this.seq = frame.seq;
    this.options.onFrame(frame);
    return true;
  }

  private connect(): void {
    if (!this.running) return;
    this.setState(this.connections === 0 && this.attempt === 0 ? "connecting" : "reconnecting");
    const after = this.seq;
    let socket: SocketLike;
    try {
      const create = this.options.createSocket ?? ((url: string) => new WebSocket(url) as unknown as SocketLike);
      socket = create(this.options.url(after));
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.attempt = 0;
      const reconnect = this.connections > 0;
      this.connections += 1;
      this.setState("open");
      this.options.onOpen?.({ reconnect, resumed: after !== null });
    };
    socket.onmessage = (ev) => {
      if (this.socket !== socket) return;
      this.receive(ev.data);
    };
    socket.onerror = () => {
      /* a close event always follows */
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (ev.code === UNAUTHORIZED_CLOSE_CODE) {
        this.stop();
        this.options.onUnauthorized?.();
        return;
      }
      if (ev.code === RESUME_TOO_OLD_CLOSE_CODE) this.seq = null;
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    if (!this.running) return;
    this.setState("reconnecting");
    const delay = backoffDelay(this.attempt, this.options.minDelayMs ?? 500, this.options.maxDelayMs ?? 10_000, this.options.random);
    this.attempt += 1;
    this.cancelTimer();
    const setTimer = this.options.setTimer ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
    this.timer = setTimer(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }

  private cancelTimer(): void {
    if (this.timer === null) return;
    const clearTimer = this.options.clearTimer ?? ((handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>));
    clearTimer(this.timer);
    this.timer = null;
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.options.onState?.(state);
  }
}
