import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError, request } from "../api";
import type { Frame, Id } from "../types";
import type { PageProps } from "./Admin";
import type { AdminAgent } from "./AgentsPage";
import { DAYS, DAY_NAMES, type Day, type HoursJson, holidaysFromText, matches, weeklyFromText, weeklyToText } from "./forms";
import { useLive } from "./live";
import { Field, FormAlert, type FormErrors, NO_ERRORS, formErrors } from "./ui";

interface TeamRow {
  id: Id;
  name: string;
  queued: number;
  agents_online: number;
  auto_assign: boolean;
}

interface TeamDetail {
  id: Id;
  name: string;
  auto_assign: boolean;
  members: { id: Id; name: string }[];
}

const HOURS_FIELDS = ["timezone", "holidays", "weekly", ...DAYS.map((d) => `weekly.${d}`)];

export function TeamsPage({ me, isAdmin }: PageProps) {
  const [teams, setTeams] = useState<TeamRow[]>([]);
  const [agents, setAgents] = useState<AdminAgent[]>([]);
  const [query, setQuery] = useState("");
  const [selected, setSelected] = useState<Id | null>(null);
  const [newName, setNewName] = useState("");
  const [createErrors, setCreateErrors] = useState<FormErrors>(NO_ERRORS);

  const load = useCallback(async () => {
    const [list, people] = await Promise.all([
      request<{ items: TeamRow[] }>("GET", "/api/v1/teams"),
      request<{ items: AdminAgent[] }>("GET", "/api/v1/agents"),
    ]);
    setTeams(list.items);
    setAgents(people.items);
  }, []);
  useEffect(() => void load().catch(() => undefined), [load]);
  useLive(["team.", "agent."], () => void load().catch(() => undefined));

  const create = async (event: Event) => {
    event.preventDefault();
    setCreateErrors(NO_ERRORS);
    try {
      const team = await request<TeamDetail>("POST", "/api/v1/teams", { body: { name: newName } });
      setNewName("");
      await load();
      setSelected(team.id);
    } catch (err) {
      setCreateErrors(formErrors(err, ["name"]));
    }
  };

  const shown = teams.filter((t) => matches(query, t.name));
  return (
    <div class="admin-body">
      <div class="admin-toolbar">
        <label for="team-search" class="sr-only">
          Search teams
        </label>
        <input id="team-search" type="search" placeholder="Search teams" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
      </div>
      <ul class="admin-list" aria-label="Teams list">
        {shown.map((team) => (
          <li key={team.id} class={`admin-item${team.id === selected ? " current" : ""}`}>
            <div class="admin-item-main">
              <span class="admin-item-title">{team.name}</span>
              <span class="muted small">
                {team.queued} waiting · {team.agents_online} online{team.auto_assign ? " · auto-assign" : ""}
              </span>
            </div>
            <div class="admin-item-actions">
              <button type="button" class="btn small" aria-label={`Open team ${team.name}`} onClick={() => setSelected(team.id)}>
                Open
              </button>
            </div>
          </li>
        ))}
      </ul>
      {isAdmin && (
        <form class="admin-form" aria-label="New team" onSubmit={(e) => void create(e)}>
          <Field id="team-new-name" label="New team name" error={createErrors.fields.name}>
            {(d) => <input id="team-new-name" type="text" value={newName} aria-describedby={d} onInput={(e) => setNewName(e.currentTarget.value)} />}
          </Field>
          <FormAlert error={createErrors.general} />
          <button type="submit" class="btn primary">
            Create team
          </button>
        </form>
      )}
      {selected !== null && <TeamEditor key={String(selected)} teamId={selected} agents={agents} me={me} isAdmin={isAdmin} />}
    </div>
  );
}

/** The team a `team.*` frame is about (`data.team.id`, or `data.hours.team_id`). */
function teamOf(frame: Frame): Id | undefined {
  const data = frame.data as { team?: { id?: Id }; hours?: { team_id?: Id } };
  return data.team?.id ?? data.hours?.team_id;
}

function TeamEditor({ teamId, agents, me, isAdmin }: { teamId: Id; agents: AdminAgent[]; me: PageProps["me"]; isAdmin: boolean }) {
  const [team, setTeam] = useState<TeamDetail | null>(null);
  const [name, setName] = useState("");
  const [memberIds, setMemberIds] = useState<Id[]>([]);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [notice, setNotice] = useState<string | null>(null);
  const [zone, setZone] = useState("UTC");
  const [days, setDays] = useState<Partial<Record<Day, string>>>({});
  const [holidays, setHolidays] = useState("");
  const [hoursErrors, setHoursErrors] = useState<FormErrors>(NO_ERRORS);
  const [hoursNotice, setHoursNotice] = useState<string | null>(null);

  const load = useCallback(async () => {
    const detail = await request<TeamDetail>("GET", `/api/v1/teams/${teamId}`);
    setTeam(detail);
    setName(detail.name);
    setMemberIds(detail.members.map((m) => m.id));
    try {
      const hours = await request<HoursJson>("GET", `/api/v1/teams/${teamId}/hours`);
      setZone(hours.timezone);
      setDays(weeklyToText(hours.weekly));
      setHolidays(hours.holidays.join(", "));
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
    }
  }, [teamId]);
  useEffect(() => void load().catch(() => undefined), [load]);
  // Another admin's or lead's change to this team (name, members, hours) shows here at once.
  useLive(["team."], () => void load().catch(() => undefined), (frame) => teamOf(frame) === teamId);

  if (!team) return null;
  const mayManage = isAdmin || me.teams.includes(team.name);

  const save = async (event: Event) => {
    event.preventDefault();
    setErrors(NO_ERRORS);
    setNotice(null);
    try {
      if (isAdmin && name !== team.name) await request("PATCH", `/api/v1/teams/${teamId}`, { body: { name } });
      await request("PUT", `/api/v1/teams/${teamId}/members`, { body: { agent_ids: memberIds } });
      setNotice("Team saved.");
      await load();
    } catch (err) {
      setErrors(formErrors(err, ["name", "agent_ids"]));
    }
  };

  const saveHours = async (event: Event) => {
    event.preventDefault();
    setHoursErrors(NO_ERRORS);
    setHoursNotice(null);
    try {
      await request("PUT", `/api/v1/teams/${teamId}/hours`, {
        body: { timezone: zone, weekly: weeklyFromText(days), holidays: holidaysFromText(holidays) },
      });
      setHoursNotice("Business hours saved.");
    } catch (err) {
      setHoursErrors(formErrors(err, HOURS_FIELDS));
    }
  };

  return (
    <section class="admin-detail" aria-labelledby="team-detail-title">
      <h3 id="team-detail-title">Team {team.name}</h3>
      <form class="admin-form" aria-label={`Members of ${team.name}`} onSubmit={(e) => void save(e)}>
        {isAdmin && (
          <Field id="team-name" label="Team name" error={errors.fields.name}>
            {(d) => <input id="team-name" type="text" value={name} aria-describedby={d} onInput={(e) => setName(e.currentTarget.value)} />}
          </Field>
        )}
        <fieldset class="checks">
          <legend>Members</legend>
          {agents.map((agent) => (
            <label key={agent.id} class="option">
              <input
                type="checkbox"
                disabled={!mayManage}
                checked={memberIds.includes(agent.id)}
                onChange={(e) => setMemberIds(e.currentTarget.checked ? [...memberIds, agent.id] : memberIds.filter((id) => id !== agent.id))}
              />
              {agent.name}
            </label>
          ))}
          {errors.fields.agent_ids && <p class="error small field-error">{errors.fields.agent_ids}</p>}
        </fieldset>
        <FormAlert error={errors.general} />
        {notice && (
          <p role="status" class="notice">
            {notice}
          </p>
        )}
        {mayManage && (
          <button type="submit" class="btn primary">
            Save team
          </button>
        )}
      </form>
      <form class="admin-form" aria-label={`Business hours of ${team.name}`} onSubmit={(e) => void saveHours(e)}>
        <h4>Business hours</h4>
        <Field id="hours-zone" label="Time zone" hint="An IANA zone, like Europe/Berlin" error={hoursErrors.fields.timezone}>
          {(d) => <input id="hours-zone" type="text" value={zone} aria-describedby={d} onInput={(e) => setZone(e.currentTarget.value)} />}
        </Field>
        {DAYS.map((day) => (
          <Field key={day} id={`hours-${day}`} label={DAY_NAMES[day]} hint={day === "mon" ? "Ranges like 09:00-12:00, 13:00-17:00; empty: closed" : undefined} error={hoursErrors.fields[`weekly.${day}`]}>
            {(d) => (
              <input id={`hours-${day}`} type="text" value={days[day] ?? ""} aria-describedby={d} onInput={(e) => setDays({ ...days, [day]: e.currentTarget.value })} />
            )}
          </Field>
        ))}
        <Field id="hours-holidays" label="Holidays" hint="Dates like 2026-12-25, separated by commas" error={hoursErrors.fields.holidays}>
          {(d) => <input id="hours-holidays" type="text" value={holidays} aria-describedby={d} onInput={(e) => setHolidays(e.currentTarget.value)} />}
        </Field>
        <FormAlert error={hoursErrors.fields.weekly ?? hoursErrors.general} />
        {hoursNotice && (
          <p role="status" class="notice">
            {hoursNotice}
          </p>
        )}
        {mayManage && (
          <button type="submit" class="btn primary">
            Save hours
          </button>
        )}
      </form>
    </section>
  );
}
