import type { ComponentChildren } from "preact";
import { type Filter, type State, mineCount, sameFilter, teamCounts } from "../store";

interface Props {
  state: State;
  onFilter: (filter: Filter) => void;
}

function Entry(props: {
  filter: Filter;
  active: Filter;
  onFilter: (filter: Filter) => void;
  count?: number;
  countLabel?: string;
  children: ComponentChildren;
}) {
  const current = sameFilter(props.filter, props.active);
  return (
    <li>
      <button
        type="button"
        class={`nav-entry${current ? " current" : ""}`}
        aria-current={current ? "page" : undefined}
        onClick={() => props.onFilter(props.filter)}
      >
        <span class="nav-label">{props.children}</span>
        {props.count !== undefined && (
          <span class={`count${props.count > 0 ? " nonzero" : ""}`}>
            {props.count}
            {props.countLabel && <span class="sr-only"> {props.countLabel}</span>}
          </span>
        )}
      </button>
    </li>
  );
}

export function QueueNav({ state, onFilter }: Props) {
  const teams = teamCounts(state);
  const totalQueued = state.teams ? teams.reduce((sum, t) => sum + t.queued, 0) : undefined;
  const active = state.filter;
  return (
    <nav class="queue-nav" aria-label="Queues">
      <ul class="nav-list" role="list">
        <Entry filter={{ kind: "mine" }} active={active} onFilter={onFilter} count={mineCount(state)} countLabel="assigned to me">
          Mine
        </Entry>
        <Entry filter={{ kind: "queued" }} active={active} onFilter={onFilter} count={totalQueued} countLabel="queued">
          Queued
        </Entry>
        <Entry filter={{ kind: "all" }} active={active} onFilter={onFilter}>
          All
        </Entry>
        <Entry filter={{ kind: "resolved" }} active={active} onFilter={onFilter}>
          Resolved
        </Entry>
      </ul>
      <h2 class="nav-heading" id="teams-heading">
        Teams
      </h2>
      {teams.length === 0 ? (
        <p class="muted small nav-empty">No teams</p>
      ) : (
        <ul class="nav-list" role="list" aria-labelledby="teams-heading">
          {teams.map((team) => (
            <Entry
              key={team.name}
              filter={{ kind: "team", team: team.name }}
              active={active}
              onFilter={onFilter}
              count={team.queued}
              countLabel="queued"
            >
              {team.name}
            </Entry>
          ))}
        </ul>
      )}
    </nav>
  );
}
