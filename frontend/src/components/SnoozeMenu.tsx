import { useState } from "preact/hooks";
import { useDismiss } from "../hooks";
import { api, errorDetail } from "../api";
import type { Conversation } from "../types";

interface Props {
  conversation: Conversation;
  onDone: (conversation: Conversation) => void;
  onError: (message: string) => void;
}

/** The quick choices, computed in the agent's own time zone (the browser's). */
export function snoozeChoices(now: Date): { label: string; until: Date }[] {
  const inAnHour = new Date(now.getTime() + 60 * 60 * 1000);
  const tomorrow = new Date(now);
  tomorrow.setDate(now.getDate() + 1);
  tomorrow.setHours(9, 0, 0, 0);
  const nextWeek = new Date(now);
  const daysToMonday = ((8 - now.getDay()) % 7) || 7;
  nextWeek.setDate(now.getDate() + daysToMonday);
  nextWeek.setHours(9, 0, 0, 0);
  return [
    { label: "1 hour", until: inAnHour },
    { label: "Tomorrow 9:00", until: tomorrow },
    { label: "Next week (Monday 9:00)", until: nextWeek },
  ];
}

/** The local date-time input's value as an instant with the browser's offset. */
function fromLocalInput(value: string): Date | null {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function SnoozeMenu({ conversation, onDone, onError }: Props) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [custom, setCustom] = useState("");
  const root = useDismiss<HTMLDivElement>(open, () => setOpen(false));

  const snooze = async (until: Date) => {
    setBusy(true);
    try {
      onDone(await api.snooze(conversation.id, until.toISOString()));
      setOpen(false);
    } catch (err) {
      onError(`Snooze failed: ${errorDetail(err)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="snooze" ref={root}>
      <button type="button" class="btn" aria-haspopup="true" aria-expanded={open} disabled={busy} onClick={() => setOpen(!open)}>
        Snooze
      </button>
      {open && (
        <div class="snooze-menu" role="group" aria-label="Snooze until">
          {snoozeChoices(new Date()).map((choice) => (
            <button key={choice.label} type="button" class="btn ghost" disabled={busy} onClick={() => void snooze(choice.until)}>
              {choice.label}
            </button>
          ))}
          <form
            class="snooze-custom"
            onSubmit={(e) => {
              e.preventDefault();
              const until = fromLocalInput(custom);
              if (until) void snooze(until);
            }}
          >
            <label for={`snooze-at-${String(conversation.id)}`}>Until</label>
            <input
              id={`snooze-at-${String(conversation.id)}`}
              type="datetime-local"
              value={custom}
              onInput={(e) => setCustom(e.currentTarget.value)}
            />
            <button type="submit" class="btn" disabled={busy || !custom}>
              Snooze until then
            </button>
          </form>
        </div>
      )}
    </div>
  );
}
