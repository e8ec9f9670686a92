import { formatDuration } from "../format";
import { useNow } from "../hooks";
import type { SlaFlag } from "../store";
import type { Conversation, SlaClock } from "../types";

const KIND_LABEL: Record<string, string> = {
  first_response: "First response",
  next_response: "Next response",
  resolution: "Resolution",
};

const STATE_LABEL: Record<string, string> = {
  running: "running",
  warned: "at risk",
  paused: "paused",
  met: "met",
  breached: "breached",
};

/** The state a conversation's SLA is in: from its clocks, or from a live event when newer. */
function stateOf(conversation: Conversation, flag: SlaFlag | undefined): string | null {
  const state = conversation.sla?.state ?? null;
  if (flag === "breached") return "breached";
  if (flag === "warning" && (state === null || state === "running")) return "warned";
  return state;
}

function remaining(due: string | null | undefined, now: number): string | null {
  if (!due) return null;
  const ms = Date.parse(due) - now;
  if (Number.isNaN(ms)) return null;
  return ms >= 0 ? `${formatDuration(ms / 1000)} left` : `${formatDuration(-ms / 1000)} over`;
}

/** A pill with the SLA state (running, at risk, paused, met, breached) and time left to the next deadline. */
export function SlaBadge({ conversation, flag }: { conversation: Conversation; flag?: SlaFlag }) {
  const state = stateOf(conversation, flag);
  const ticking = state === "running" || state === "warned";
  const now = useNow(1000, ticking);
  if (!state) return null;
  const left = ticking ? remaining(conversation.sla?.due_at, now) : null;
  return (
    <span class={`pill sla sla-${state}`} title="Service level">
      SLA {STATE_LABEL[state] ?? state}
      {left && <span class="sla-left"> · {left}</span>}
    </span>
  );
}

/** Every clock of the conversation, for its header. */
export function SlaClocks({ clocks }: { clocks: SlaClock[] }) {
  const now = useNow(1000, clocks.some((c) => c.state === "running" || c.state === "warned"));
  if (clocks.length === 0) return null;
  return (
    <ul class="sla-clocks" aria-label="SLA clocks">
      {clocks.map((c) => {
        const left = c.state === "running" || c.state === "warned" ? remaining(c.due_at, now) : null;
        return (
          <li key={String(c.id)} class={`sla-clock sla-${c.state}`}>
            {KIND_LABEL[c.kind] ?? c.kind}: {STATE_LABEL[c.state] ?? c.state}
            {left ? ` (${left})` : ""}
          </li>
        );
      })}
    </ul>
  );
}
