// Keyboard shortcuts of the inbox: a pure key → command mapping (testable without a DOM), and
// the rule that typing in a field never triggers one.

export type Command = "next" | "previous" | "resolve" | "search" | "help";

export const SHORTCUTS: Array<{ key: string; command: Command; what: string }> = [
  { key: "j", command: "next", what: "Next conversation" },
  { key: "k", command: "previous", what: "Previous conversation" },
  { key: "e", command: "resolve", what: "Resolve the open conversation" },
  { key: "/", command: "search", what: "Search messages and customers" },
  { key: "?", command: "help", what: "Show these shortcuts" },
];

interface KeyLike {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  target?: EventTarget | null;
}

function typing(target: EventTarget | null | undefined): boolean {
  const el = target as HTMLElement | null;
  if (!el || typeof el.tagName !== "string") return false;
  const tag = el.tagName.toLowerCase();
  return tag === "input" || tag === "textarea" || tag === "select" || el.isContentEditable === true;
}

/** The command a key press asks for, or null (modifiers held, or typing in a field). */
export function commandFor(event: KeyLike): Command | null {
  if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return null;
  return SHORTCUTS.find((s) => s.key === event.key)?.command ?? null;
}

/** The id after (or before) `current` in `ids`; the first (or last) when nothing is selected. */
export function step(ids: string[], current: string | null, by: 1 | -1): string | null {
  if (ids.length === 0) return null;
  const at = current === null ? -1 : ids.indexOf(current);
  if (at < 0) return by === 1 ? ids[0] : ids[ids.length - 1];
  return ids[Math.min(ids.length - 1, Math.max(0, at + by))];
}
