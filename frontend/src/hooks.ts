import type { RefObject } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { State, Store } from "./store";

/** Re-render when the store changes. */
export function useStore(store: Store): State {
  const [state, setState] = useState(store.state);
  useEffect(() => {
    setState(store.state);
    return store.subscribe(() => setState(store.state));
  }, [store]);
  return state;
}

/** The current time, refreshed every `intervalMs` while `active`. */
export function useNow(intervalMs: number, active = true): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return undefined;
    setNow(Date.now());
    const handle = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(handle);
  }, [intervalMs, active]);
  return now;
}

/** `value`, updated only after it has been stable for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const handle = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(handle);
  }, [value, ms]);
  return debounced;
}

/** A popup's dismissal: while `open`, a click outside the returned ref's element or Escape calls
 * `close` (the notification bell, the snooze menu). */
export function useDismiss<T extends HTMLElement>(open: boolean, close: () => void): RefObject<T> {
  const root = useRef<T>(null);
  const latest = useRef(close);
  latest.current = close;
  useEffect(() => {
    if (!open) return undefined;
    const outside = (e: MouseEvent) => {
      if (root.current && !root.current.contains(e.target as Node)) latest.current();
    };
    const escape = (e: KeyboardEvent) => e.key === "Escape" && latest.current();
    document.addEventListener("mousedown", outside);
    document.addEventListener("keydown", escape);
    return () => {
      document.removeEventListener("mousedown", outside);
      document.removeEventListener("keydown", escape);
    };
  }, [open]);
  return root;
}
