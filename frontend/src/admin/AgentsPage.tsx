import { useCallback, useEffect, useState } from "preact/hooks";
import { request } from "../api";
import type { Id } from "../types";
import type { PageProps } from "./Admin";
import { matches } from "./forms";
import { useLive } from "./live";
import { Field, FormAlert, type FormErrors, NO_ERRORS, formErrors } from "./ui";

export interface AdminAgent {
  id: Id;
  email: string;
  name: string;
  role: string;
  teams: string[];
  capacity: number;
  active: boolean;
  presence?: string;
}

interface TeamRef {
  id: Id;
  name: string;
}

const AGENT_FIELDS = ["name", "email", "role", "teams", "capacity", "password", "active"];

interface Draft {
  name: string;
  email: string;
  role: string;
  teams: string[];
  capacity: string;
  password: string;
}

const EMPTY: Draft = { name: "", email: "", role: "agent", teams: [], capacity: "5", password: "" };

export function AgentsPage({ me, isAdmin }: PageProps) {
  const [agents, setAgents] = useState<AdminAgent[]>([]);
  const [teams, setTeams] = useState<TeamRef[]>([]);
  const [query, setQuery] = useState("");
  const [editing, setEditing] = useState<AdminAgent | null>(null);
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [notice, setNotice] = useState<string | null>(null);
  const [resetFor, setResetFor] = useState<AdminAgent | null>(null);
  const [resetPassword, setResetPassword] = useState("");
  const [resetErrors, setResetErrors] = useState<FormErrors>(NO_ERRORS);
  const [rowError, setRowError] = useState<string | null>(null);

  const load = useCallback(async () => {
    const [list, teamList] = await Promise.all([
      request<{ items: AdminAgent[] }>("GET", "/api/v1/agents", { query: { include_inactive: "true" } }),
      request<{ items: TeamRef[] }>("GET", "/api/v1/teams"),
    ]);
    setAgents(list.items);
    setTeams(teamList.items);
  }, []);
  useEffect(() => void load().catch(() => undefined), [load]);
  useLive(["agent.", "team."], () => void load().catch(() => undefined));

  const startEdit = (agent: AdminAgent | null) => {
    setEditing(agent);
    setErrors(NO_ERRORS);
    setNotice(null);
    setDraft(
      agent
        ? { name: agent.name, email: agent.email, role: agent.role, teams: agent.teams, capacity: String(agent.capacity), password: "" }
        : EMPTY,
    );
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    setErrors(NO_ERRORS);
    setNotice(null);
    const capacity = Number(draft.capacity);
    try {
      if (editing) {
        await request("PATCH", `/api/v1/agents/${editing.id}`, {
          body: { name: draft.name, role: draft.role, teams: draft.teams, capacity },
        });
        setNotice(`${draft.name} saved.`);
      } else {
        await request("POST", "/api/v1/agents", {
          body: { name: draft.name, email: draft.email, role: draft.role, teams: draft.teams, capacity, password: draft.password },
        });
        setNotice(`${draft.name} can now sign in as ${draft.email}.`);
        setDraft(EMPTY);
      }
      await load();
    } catch (err) {
      setErrors(formErrors(err, AGENT_FIELDS));
    }
  };

  const setActive = async (agent: AdminAgent, active: boolean) => {
    setRowError(null);
    try {
      await request("PATCH", `/api/v1/agents/${agent.id}`, { body: { active } });
      await load();
    } catch (err) {
      setRowError(formErrors(err, []).general);
    }
  };

  const makeLink = async (agent: AdminAgent) => {
    setRowError(null);
    try {
      const link = await request<{ url: string; expires_at: string }>("POST", `/api/v1/agents/${agent.id}/password-link`);
      setNotice(`Give ${agent.name} this one-time link (valid until ${new Date(link.expires_at).toLocaleString()}): ${link.url}`);
    } catch (err) {
      setRowError(formErrors(err, []).general);
    }
  };

  const submitReset = async (event: Event) => {
    event.preventDefault();
    if (!resetFor) return;
    setResetErrors(NO_ERRORS);
    try {
      await request("POST", `/api/v1/agents/${resetFor.id}/password`, { body: { password: resetPassword } });
      setNotice(`A new password is set for ${resetFor.name}; their sessions were ended.`);
      setResetFor(null);
      setResetPassword("");
    } catch (err) {
      setResetErrors(formErrors(err, ["password"]));
    }
  };

  const shown = agents.filter((a) => matches(query, a.name, a.email, a.teams.join(" ")));
  return (
    <div class="admin-body">
      <div class="admin-toolbar">
        <label for="agent-search" class="sr-only">
          Search agents
        </label>
        <input id="agent-search" type="search" placeholder="Search agents" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
        {isAdmin && (
          <button type="button" class="btn" onClick={() => startEdit(null)}>
            New agent
          </button>
        )}
      </div>
      {rowError && (
        <p role="alert" class="error">
          {rowError}
        </p>
      )}
      <ul class="admin-list" aria-label="Agents list">
        {shown.map((agent) => (
          <li key={agent.id} class={`admin-item${agent.active ? "" : " inactive"}`}>
            <div class="admin-item-main">
              <span class="admin-item-title">{agent.name}</span>
              <span class="muted small">
                {agent.email} · {agent.role} · {agent.teams.join(", ") || "no team"} · capacity {agent.capacity}
              </span>
              <span class={`pill ${agent.active ? "status-assigned" : "status-resolved"}`}>{agent.active ? "Active" : "Deactivated"}</span>
            </div>
            {isAdmin && (
              <div class="admin-item-actions">
                <button type="button" class="btn small" aria-label={`Edit ${agent.name}`} onClick={() => startEdit(agent)}>
                  Edit
                </button>
                {agent.id !== me.id &&
                  (agent.active ? (
                    <button type="button" class="btn small" aria-label={`Deactivate ${agent.name}`} onClick={() => void setActive(agent, false)}>
                      Deactivate
                    </button>
                  ) : (
                    <button type="button" class="btn small" aria-label={`Reactivate ${agent.name}`} onClick={() => void setActive(agent, true)}>
                      Reactivate
                    </button>
                  ))}
                {agent.active && (
                  <button type="button" class="btn small" aria-label={`Set-password link for ${agent.name}`} onClick={() => void makeLink(agent)}>
                    Set-password link
                  </button>
                )}
                <button type="button" class="btn small" aria-label={`Reset password of ${agent.name}`} onClick={() => (setResetFor(agent), setResetErrors(NO_ERRORS))}>
                  Reset password
                </button>
              </div>
            )}
          </li>
        ))}
      </ul>
      {notice && (
        <p role="status" class="notice">
          {notice}
        </p>
      )}
      {resetFor && (
        <form class="admin-form" aria-label={`New password for ${resetFor.name}`} onSubmit={(e) => void submitReset(e)}>
          <Field id="reset-password" label={`New password for ${resetFor.name}`} error={resetErrors.fields.password}>
            {(d) => <input id="reset-password" type="password" autocomplete="new-password" value={resetPassword} aria-describedby={d} onInput={(e) => setResetPassword(e.currentTarget.value)} />}
          </Field>
          <FormAlert error={resetErrors.general} />
          <div class="dialog-actions">
            <button type="button" class="btn" onClick={() => setResetFor(null)}>
              Cancel
            </button>
            <button type="submit" class="btn primary">
              Set password
            </button>
          </div>
        </form>
      )}
      {isAdmin && (
        <form class="admin-form" aria-label={editing ? `Edit ${editing.name}` : "New agent"} onSubmit={(e) => void submit(e)}>
          <h3>{editing ? `Edit ${editing.name}` : "New agent"}</h3>
          <Field id="agent-name" label="Name" error={errors.fields.name}>
            {(d) => <input id="agent-name" type="text" value={draft.name} aria-describedby={d} onInput={(e) => setDraft({ ...draft, name: e.currentTarget.value })} />}
          </Field>
          {!editing && (
            <Field id="agent-email" label="Email address" error={errors.fields.email}>
              {(d) => <input id="agent-email" type="text" inputMode="email" value={draft.email} aria-describedby={d} onInput={(e) => setDraft({ ...draft, email: e.currentTarget.value })} />}
            </Field>
          )}
          <Field id="agent-role" label="Role" error={errors.fields.role}>
            {(d) => (
              <select id="agent-role" value={draft.role} aria-describedby={d} onChange={(e) => setDraft({ ...draft, role: e.currentTarget.value })}>
                <option value="agent">Agent</option>
                <option value="lead">Lead</option>
                <option value="admin">Admin</option>
              </select>
            )}
          </Field>
          <fieldset class="checks" aria-describedby={errors.fields.teams ? "agent-teams-error" : undefined}>
            <legend>Teams</legend>
            {teams.map((team) => (
              <label key={team.id} class="option">
                <input
                  type="checkbox"
                  checked={draft.teams.includes(team.name)}
                  onChange={(e) =>
                    setDraft({ ...draft, teams: e.currentTarget.checked ? [...draft.teams, team.name] : draft.teams.filter((t) => t !== team.name) })
                  }
                />
                {team.name}
              </label>
            ))}
            {errors.fields.teams && (
              <p id="agent-teams-error" class="error small field-error">
                {errors.fields.teams}
              </p>
            )}
          </fieldset>
          <Field id="agent-capacity" label="Capacity" hint="Open conversations at once" error={errors.fields.capacity}>
            {(d) => <input id="agent-capacity" type="number" min={1} max={100} value={draft.capacity} aria-describedby={d} onInput={(e) => setDraft({ ...draft, capacity: e.currentTarget.value })} />}
          </Field>
          {!editing && (
            <Field id="agent-password" label="Initial password" error={errors.fields.password}>
              {(d) => <input id="agent-password" type="password" autocomplete="new-password" value={draft.password} aria-describedby={d} onInput={(e) => setDraft({ ...draft, password: e.currentTarget.value })} />}
            </Field>
          )}
          <FormAlert error={errors.general} />
          <div class="dialog-actions">
            {editing && (
              <button type="button" class="btn" onClick={() => startEdit(null)}>
                Cancel
              </button>
            )}
            <button type="submit" class="btn primary">
              {editing ? "Save agent" : "Create agent"}
            </button>
          </div>
        </form>
      )}
    </div>
  );
}
