// Small formatting helpers shared by the components.

import type { Contact, Message } from "./types";

/** Bidirectional control characters shown as visible marks instead of obeyed:
 * `user\u202egnp.exe` must not display as `userexe.png`. */
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;
export function showBidi(text: string): string {
  return text.replace(
    BIDI_CONTROLS,
    (c) => `[U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}]`,
  );
}

export function contactName(contact: Contact | null | undefined): string {
  if (!contact) return "Unknown";
  return showBidi(contact.name?.trim() || contact.wa_id || handle(contact) || "Unknown");
}

/** "@username" for a customer with a WhatsApp username, else "". */
export function handle(contact: Contact | null | undefined): string {
  return contact?.username ? `@${contact.username}` : "";
}

/** The number, or the @username where WhatsApp withholds the number. */
export function contactAddress(contact: Contact | null | undefined): string {
  return phoneNumber(contact?.wa_id) || handle(contact);
}

/** +15551234567 style for display; wa_id is digits only. */
export function phoneNumber(waId: string | null | undefined): string {
  if (!waId) return "";
  return /^\d+$/.test(waId) ? `+${waId}` : waId;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** "45s", "2m 05s", "1h 02m 05s". */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h ${pad(m)}m ${pad(sec)}s`;
  if (m > 0) return `${m}m ${pad(sec)}s`;
  return `${sec}s`;
}

export function waitingLabel(since: string | null | undefined, now: number): string | null {
  if (!since) return null;
  const t = Date.parse(since);
  if (Number.isNaN(t)) return null;
  return `waiting ${formatDuration((now - t) / 1000)}`;
}

/** "23h 12m", "12m", "<1m". */
export function formatRemaining(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  if (h > 0) return `${h}h ${pad(m)}m`;
  if (m > 0) return `${m}m`;
  return "less than a minute";
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  day: "numeric",
  month: "short",
  hour: "2-digit",
  minute: "2-digit",
});

export function formatTime(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const today = new Date(now);
  const sameDay =
    d.getFullYear() === today.getFullYear() && d.getMonth() === today.getMonth() && d.getDate() === today.getDate();
  return sameDay ? timeFmt.format(d) : dateTimeFmt.format(d);
}

export function fullTime(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleString();
}

export function capitalize(word: string | null | undefined): string {
  if (!word) return "";
  return word.charAt(0).toUpperCase() + word.slice(1);
}

const MEDIA_LABEL: Record<string, string> = {
  image: "Photo",
  document: "Document",
  audio: "Audio",
  video: "Video",
  location: "Location",
  sticker: "Sticker",
  reaction: "Reaction",
  template: "Template",
  unsupported: "Unsupported message",
};

const obj = (v: unknown): Record<string, unknown> | null =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;

/** The title of an inbound button or list reply, if the message is one. */
export function replyTitle(message: Message): string | null {
  const payload = obj(message.payload);
  if (!payload) return null;
  const interactive = obj(payload.interactive) ?? payload;
  for (const k of ["button_reply", "list_reply"]) {
    const reply = obj(interactive[k]);
    if (reply && typeof reply.title === "string") return reply.title;
  }
  const button = obj(payload.button);
  if (button && typeof button.text === "string") return button.text;
  return null;
}

/** One line of text to show for a message (list previews, notifications). */
export function previewText(message: Message | null | undefined): string {
  if (!message) return "";
  if (message.text) return message.text;
  const reply = replyTitle(message);
  if (reply) return reply;
  return MEDIA_LABEL[message.type] ? `[${MEDIA_LABEL[message.type]}]` : `[${message.type}]`;
}

export { obj as asObject };
