import { useEffect, useRef, useState } from "preact/hooks";
import { api, errorDetail } from "../api";
import { useDebounced } from "../hooks";
import { contactName, formatTime } from "../format";
import { key } from "../store";
import type { Id, SearchResults } from "../types";

interface Props {
  onOpen: (conversationId: Id) => void;
  /** Lets the keyboard shortcut `/` focus the box. */
  inputRef?: { current: HTMLInputElement | null };
}

/** An excerpt with its matches marked (offsets from the server: never HTML from it). */
function Marked({ text, highlights }: { text: string; highlights: Array<[number, number]> }) {
  const parts = [];
  let at = 0;
  for (const [start, end] of highlights) {
    if (start < at || end > text.length) continue;
    if (start > at) parts.push(text.slice(at, start));
    parts.push(<mark key={start}>{text.slice(start, end)}</mark>);
    at = end;
  }
  parts.push(text.slice(at));
  return <span class="excerpt">{parts}</span>;
}

/** The top bar's search: messages and customers the agent may see, as they type. */
export function SearchBox({ onOpen, inputRef }: Props) {
  const [query, setQuery] = useState("");
  const [open, setOpen] = useState(false);
  const [results, setResults] = useState<SearchResults | null>(null);
  const [error, setError] = useState<string | null>(null);
  const debounced = useDebounced(query, 200);
  const root = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const q = debounced.trim();
    if (!q) {
      setResults(null);
      return undefined;
    }
    const controller = new AbortController();
    api.search(q, controller.signal).then(
      (r) => {
        setResults(r);
        setError(null);
      },
      (err) => !controller.signal.aborted && setError(errorDetail(err)),
    );
    return () => controller.abort();
  }, [debounced]);

  useEffect(() => {
    if (!open) return undefined;
    const close = (e: MouseEvent) => {
      if (root.current && !root.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", close);
    return () => document.removeEventListener("mousedown", close);
  }, [open]);

  const choose = (conversationId: Id) => {
    onOpen(conversationId);
    setOpen(false);
  };
  const showing = open && query.trim() !== "" && (results !== null || error !== null);
  return (
    <div class="global-search" ref={root} role="search">
      <label for="global-search" class="sr-only">
        Search
      </label>
      <input
        id="global-search"
        ref={(el) => {
          if (inputRef) inputRef.current = el;
        }}
        type="search"
        placeholder="Search messages and customers ( / )"
        autoComplete="off"
        value={query}
        onInput={(e) => {
          setQuery(e.currentTarget.value);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
        onKeyDown={(e) => {
          if (e.key === "Escape") {
            setOpen(false);
            e.currentTarget.blur();
          }
        }}
      />
      {showing && (
        <section id="search-results" class="search-results" aria-label="Search results">
          {error && (
            <p role="alert" class="error small">
              {error}
            </p>
          )}
          {results && results.messages.length === 0 && results.contacts.length === 0 && <p class="muted small">Nothing found.</p>}
          {results && results.contacts.length > 0 && (
            <>
              <h2>Customers</h2>
              <ul aria-label="Customers found">
                {results.contacts.map((c) => (
                  <li key={key(c.id)}>
                    <span class="found-contact">
                      {contactName({ name: c.name, wa_id: c.wa_id, username: c.username })}
                      {c.wa_id ? ` · +${c.wa_id}` : c.username ? ` · @${c.username}` : ""}
                    </span>
                  </li>
                ))}
              </ul>
            </>
          )}
          {results && results.messages.length > 0 && (
            <>
              <h2>Messages</h2>
              <ul aria-label="Messages found">
                {results.messages.map((hit) => (
                  <li key={key(hit.message.id)}>
                    <button type="button" class="search-hit" onClick={() => choose(hit.conversation_id)}>
                      <Marked text={hit.excerpt} highlights={hit.highlights ?? []} />
                      <time dateTime={hit.message.created_at}>{formatTime(hit.message.created_at)}</time>
                    </button>
                  </li>
                ))}
              </ul>
            </>
          )}
        </section>
      )}
    </div>
  );
}
