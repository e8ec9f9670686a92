import { useEffect, useState } from "preact/hooks";
import { api } from "../api";
import type { LabelInfo } from "../types";

/** The label vocabulary (colours and descriptions admins set), loaded once per page. */
let vocabulary: Promise<Record<string, LabelInfo>> | null = null;
function loadVocabulary(): Promise<Record<string, LabelInfo>> {
  vocabulary ??= api.labels().then(
    (r) => Object.fromEntries((r.items ?? []).map((l) => [l.name, l])),
    () => {
      vocabulary = null;
      return {};
    },
  );
  return vocabulary;
}

interface Props {
  labels: string[];
  /** The label editor's accessible name, e.g. "Conversation labels". */
  name: string;
  onChange?: (labels: string[]) => Promise<void>;
}

/** Label chips, with an input to add one and a button to remove each when editable. */
export function Labels({ labels, name, onChange }: Props) {
  const [known, setKnown] = useState<Record<string, LabelInfo>>({});
  useEffect(() => {
    if (!labels.some((l) => !(l in known))) return;
    if (Object.keys(known).length > 0) vocabulary = null; // a label new since the last read
    void loadVocabulary().then(setKnown);
  }, [labels.join("\u0000")]);
  const [draft, setDraft] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const change = async (next: string[]) => {
    if (!onChange) return;
    setBusy(true);
    setError(null);
    try {
      await onChange(next);
      setDraft("");
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="labels" role="group" aria-label={name}>
      <ul class="label-chips">
        {labels.map((label) => (
          <li
            key={label}
            class="label-chip"
            style={known[label] ? { borderColor: known[label].colour } : undefined}
            title={known[label]?.description ?? undefined}
          >
            <span class="label-dot" aria-hidden="true" style={known[label] ? { background: known[label].colour } : undefined} />
            <span>{label}</span>
            {onChange && (
              <button type="button" class="chip-remove" aria-label={`Remove label ${label}`} disabled={busy} onClick={() => void change(labels.filter((x) => x !== label))}>
                ×
              </button>
            )}
          </li>
        ))}
      </ul>
      {onChange && (
        <form
          class="label-add"
          onSubmit={(e) => {
            e.preventDefault();
            const value = draft.trim();
            if (value && !labels.some((x) => x.toLowerCase() === value.toLowerCase())) void change([...labels, value]);
          }}
        >
          <input aria-label={`Add to ${name.toLowerCase()}`} placeholder="Add label" maxLength={50} value={draft} disabled={busy} onInput={(e) => setDraft(e.currentTarget.value)} />
        </form>
      )}
      {error && (
        <p role="alert" class="error small">
          {error}
        </p>
      )}
    </div>
  );
}
