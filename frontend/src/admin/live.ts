// The inbox's one live socket feeds the admin pages too: the Inbox publishes every frame here,
// and a page re-reads its list when a frame of a type it shows arrives (no second socket, no
// polling, no reloads).
import { useEffect, useRef } from "preact/hooks";
import type { Frame } from "../types";

/** Every kind of configuration event (see docs/events.md): the audit log re-reads on any. */
export const CONFIG_EVENTS = [
  "agent.", "team.", "channel.", "bot_flow.", "sla_policy.", "survey_config.", "api_key.",
  "webhook_endpoint.", "quick_reply.", "label.", "template.",
];

type Listener = (frame: Frame) => void;
const listeners = new Set<Listener>();

export function publishFrame(frame: Frame): void {
  for (const listener of listeners) listener(frame);
}

/** Calls `onChange` (at most every 250 ms) when a frame whose type starts with a prefix comes
 *  (and, given `about`, that it says concerns what the page shows: one team, one channel). */
export function useLive(prefixes: string[], onChange: () => void, about?: (frame: Frame) => boolean): void {
  const callback = useRef(onChange);
  callback.current = onChange;
  const filter = useRef(about);
  filter.current = about;
  const key = prefixes.join("|");
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const wanted = key.split("|");
    const listener: Listener = (frame) => {
      if (!wanted.some((prefix) => frame.type.startsWith(prefix))) return;
      if (filter.current && !filter.current(frame)) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => callback.current(), 250);
    };
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (timer) clearTimeout(timer);
    };
  }, [key]);
}
