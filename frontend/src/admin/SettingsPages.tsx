// Quick replies, SLA policies and surveys: lists with search, create / edit / delete forms that
// show the API's reasons beside their fields, and a preview of what the customer or agent sees.
import { useCallback, useEffect, useState } from "preact/hooks";
import { request } from "../api";
import type { Id } from "../types";
import type { PageProps } from "./Admin";
import type { AdminChannel } from "./ChannelsPage";
import { matches, minutesToSeconds } from "./forms";
import { useLive } from "./live";
import { Field, FormAlert, type FormErrors, NO_ERRORS, formErrors } from "./ui";

// ---------------------------------------------------------------- quick replies
interface QuickReplyRow {
  id: Id;
  shortcut: string;
  title: string;
  text: string;
}

const NEW_REPLY = { shortcut: "", title: "", text: "" };

export function QuickRepliesPage({ isAdmin }: PageProps) {
  const [items, setItems] = useState<QuickReplyRow[]>([]);
  const [query, setQuery] = useState("");
  const [editing, setEditing] = useState<Id | null>(null);
  const [draft, setDraft] = useState(NEW_REPLY);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [notice, setNotice] = useState<string | null>(null);
  const load = useCallback(async () => setItems((await request<{ items: QuickReplyRow[] }>("GET", "/api/v1/quick-replies")).items), []);
  useEffect(() => void load().catch(() => undefined), [load]);
  useLive(["quick_reply."], () => void load().catch(() => undefined));

  const submit = async (event: Event) => {
    event.preventDefault();
    setErrors(NO_ERRORS);
    setNotice(null);
    try {
      if (editing !== null) await request("PATCH", `/api/v1/quick-replies/${editing}`, { body: draft });
      else await request("POST", "/api/v1/quick-replies", { body: draft });
      setNotice(`Quick reply /${draft.shortcut} saved.`);
      setDraft(NEW_REPLY);
      setEditing(null);
      await load();
    } catch (err) {
      setErrors(formErrors(err, ["shortcut", "title", "text"]));
    }
  };
  const remove = async (row: QuickReplyRow) => {
    await request("DELETE", `/api/v1/quick-replies/${row.id}`);
    await load();
  };

  const shown = items.filter((r) => matches(query, r.shortcut, r.title, r.text));
  return (
    <div class="admin-body">
      <div class="admin-toolbar">
        <label for="qr-search" class="sr-only">
          Search quick replies
        </label>
        <input id="qr-search" type="search" placeholder="Search quick replies" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
      </div>
      <ul class="admin-list" aria-label="Quick replies list">
        {shown.map((row) => (
          <li key={row.id} class="admin-item">
            <div class="admin-item-main">
              <span class="admin-item-title">
                /{row.shortcut} · {row.title}
              </span>
              <span class="muted small">{row.text}</span>
            </div>
            {isAdmin && (
              <div class="admin-item-actions">
                <button type="button" class="btn small" aria-label={`Edit /${row.shortcut}`} onClick={() => (setEditing(row.id), setDraft({ shortcut: row.shortcut, title: row.title, text: row.text }))}>
                  Edit
                </button>
                <button type="button" class="btn small" aria-label={`Delete /${row.shortcut}`} onClick={() => void remove(row)}>
                  Delete
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
      {isAdmin && (
        <form class="admin-form" aria-label={editing === null ? "New quick reply" : "Edit quick reply"} onSubmit={(e) => void submit(e)}>
          <h3>{editing === null ? "New quick reply" : "Edit quick reply"}</h3>
          <Field id="qr-shortcut" label="Shortcut" hint="Agents type / and this: lowercase letters, digits, - and _" error={errors.fields.shortcut}>
            {(d) => <input id="qr-shortcut" type="text" value={draft.shortcut} aria-describedby={d} onInput={(e) => setDraft({ ...draft, shortcut: e.currentTarget.value })} />}
          </Field>
          <Field id="qr-title" label="Title" error={errors.fields.title}>
            {(d) => <input id="qr-title" type="text" value={draft.title} aria-describedby={d} onInput={(e) => setDraft({ ...draft, title: e.currentTarget.value })} />}
          </Field>
          <Field id="qr-text" label="Text" error={errors.fields.text}>
            {(d) => <textarea id="qr-text" rows={3} value={draft.text} aria-describedby={d} onInput={(e) => setDraft({ ...draft, text: e.currentTarget.value })} />}
          </Field>
          {draft.text && (
            <div class="preview" aria-label="Preview">
              <p class="muted small">Preview</p>
              <p class="bubble preview-bubble">{draft.text}</p>
            </div>
          )}
          <FormAlert error={errors.general} />
          <button type="submit" class="btn primary">
            Save quick reply
          </button>
        </form>
      )}
    </div>
  );
}

// ---------------------------------------------------------------- SLA policies
interface PolicyRow {
  id: Id;
  team_id: Id;
  team: string | null;
  priority: number | null;
  first_response_seconds: number | null;
  next_response_seconds: number | null;
  resolution_seconds: number | null;
  business_hours: boolean;
}

const NEW_POLICY = { team_id: "", first: "", next: "", resolution: "", business_hours: false };
const minutes = (s: number | null) => (s === null ? "" : String(Math.round(s / 6) / 10));

export function SlaPoliciesPage(_: PageProps) {
  const [items, setItems] = useState<PolicyRow[]>([]);
  const [teams, setTeams] = useState<{ id: Id; name: string }[]>([]);
  const [query, setQuery] = useState("");
  const [editing, setEditing] = useState<Id | null>(null);
  const [draft, setDraft] = useState(NEW_POLICY);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [notice, setNotice] = useState<string | null>(null);
  const load = useCallback(async () => {
    const [list, teamList] = await Promise.all([
      request<{ items: PolicyRow[] }>("GET", "/api/v1/sla/policies"),
      request<{ items: { id: Id; name: string }[] }>("GET", "/api/v1/teams"),
    ]);
    setItems(list.items);
    setTeams(teamList.items);
  }, []);
  useEffect(() => void load().catch(() => undefined), [load]);
  useLive(["team.", "sla_policy."], () => void load().catch(() => undefined));

  const submit = async (event: Event) => {
    event.preventDefault();
    setErrors(NO_ERRORS);
    setNotice(null);
    const targets = {
      first_response_seconds: minutesToSeconds(draft.first),
      next_response_seconds: minutesToSeconds(draft.next),
      resolution_seconds: minutesToSeconds(draft.resolution),
      business_hours: draft.business_hours,
    };
    try {
      if (editing !== null) await request("PATCH", `/api/v1/sla/policies/${editing}`, { body: targets });
      else await request("POST", "/api/v1/sla/policies", { body: { team_id: Number(draft.team_id), ...targets } });
      setNotice("SLA policy saved.");
      setDraft(NEW_POLICY);
      setEditing(null);
      await load();
    } catch (err) {
      setErrors(formErrors(err, ["team_id", "first_response_seconds", "next_response_seconds", "resolution_seconds"]));
    }
  };
  const remove = async (row: PolicyRow) => {
    await request("DELETE", `/api/v1/sla/policies/${row.id}`);
    await load();
  };
  const shown = items.filter((p) => matches(query, p.team));
  return (
    <div class="admin-body">
      <div class="admin-toolbar">
        <label for="sla-search" class="sr-only">
          Search SLA policies
        </label>
        <input id="sla-search" type="search" placeholder="Search by team" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
      </div>
      <ul class="admin-list" aria-label="SLA policies list">
        {shown.map((row) => (
          <li key={row.id} class="admin-item">
            <div class="admin-item-main">
              <span class="admin-item-title">
                {row.team ?? "?"}
                {row.priority === null ? "" : ` · priority ${row.priority}`}
              </span>
              <span class="muted small">
                first response {minutes(row.first_response_seconds) || "—"} min · next {minutes(row.next_response_seconds) || "—"} min · resolution {minutes(row.resolution_seconds) || "—"} min
                {row.business_hours ? " · business hours" : ""}
              </span>
            </div>
            <div class="admin-item-actions">
              <button
                type="button"
                class="btn small"
                aria-label={`Edit the policy of ${row.team}`}
                onClick={() => (
                  setEditing(row.id),
                  setDraft({ team_id: String(row.team_id), first: minutes(row.first_response_seconds), next: minutes(row.next_response_seconds), resolution: minutes(row.resolution_seconds), business_hours: row.business_hours })
                )}
              >
                Edit
              </button>
              <button type="button" class="btn small" aria-label={`Delete the policy of ${row.team}`} onClick={() => void remove(row)}>
                Delete
              </button>
            </div>
          </li>
        ))}
      </ul>
      {notice && (
        <p role="status" class="notice">
          {notice}
        </p>
      )}
      <form class="admin-form" aria-label={editing === null ? "New SLA policy" : "Edit SLA policy"} onSubmit={(e) => void submit(e)}>
        <h3>{editing === null ? "New SLA policy" : "Edit SLA policy"}</h3>
        {editing === null && (
          <Field id="sla-team" label="Team" error={errors.fields.team_id}>
            {(d) => (
              <select id="sla-team" value={draft.team_id} aria-describedby={d} onChange={(e) => setDraft({ ...draft, team_id: e.currentTarget.value })}>
                <option value="">Choose a team</option>
                {teams.map((t) => (
                  <option key={t.id} value={String(t.id)}>
                    {t.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
        )}
        <Field id="sla-first" label="First response (minutes)" error={errors.fields.first_response_seconds}>
          {(d) => <input id="sla-first" type="text" inputMode="decimal" value={draft.first} aria-describedby={d} onInput={(e) => setDraft({ ...draft, first: e.currentTarget.value })} />}
        </Field>
        <Field id="sla-next" label="Next response (minutes)" error={errors.fields.next_response_seconds}>
          {(d) => <input id="sla-next" type="text" inputMode="decimal" value={draft.next} aria-describedby={d} onInput={(e) => setDraft({ ...draft, next: e.currentTarget.value })} />}
        </Field>
        <Field id="sla-resolution" label="Resolution (minutes)" error={errors.fields.resolution_seconds}>
          {(d) => <input id="sla-resolution" type="text" inputMode="decimal" value={draft.resolution} aria-describedby={d} onInput={(e) => setDraft({ ...draft, resolution: e.currentTarget.value })} />}
        </Field>
        <label class="option">
          <input type="checkbox" checked={draft.business_hours} onChange={(e) => setDraft({ ...draft, business_hours: e.currentTarget.checked })} />
          Count business hours only
        </label>
        <FormAlert error={errors.general} />
        <button type="submit" class="btn primary">
          Save policy
        </button>
      </form>
    </div>
  );
}

// ---------------------------------------------------------------- surveys
interface SurveyConfig {
  channel_id: Id;
  enabled: boolean;
  delay_seconds: number;
  template_name: string | null;
  template_language: string;
}

export function SurveysPage({ isAdmin }: PageProps) {
  const [channels, setChannels] = useState<AdminChannel[]>([]);
  const [channelId, setChannelId] = useState<Id | null>(null);
  const [config, setConfig] = useState<SurveyConfig | null>(null);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [notice, setNotice] = useState<string | null>(null);
  const loadChannels = useCallback(async () => {
    const list = await request<{ items: AdminChannel[] }>("GET", "/api/v1/channels");
    setChannels(list.items);
    setChannelId((current) => current ?? (list.items.length ? list.items[0].id : null));
  }, []);
  useEffect(() => void loadChannels().catch(() => undefined), [loadChannels]);
  const loadConfig = useCallback(async () => {
    if (channelId !== null) setConfig(await request<SurveyConfig>("GET", `/api/v1/channels/${channelId}/survey`));
  }, [channelId]);
  useEffect(() => void loadConfig().catch(() => undefined), [loadConfig]);
  useLive(["channel."], () => void loadChannels().catch(() => undefined));
  useLive(
    ["survey_config."],
    () => void loadConfig().catch(() => undefined),
    (frame) => (frame.data.survey_config as { channel_id?: Id } | undefined)?.channel_id === channelId,
  );

  const save = async (event: Event) => {
    event.preventDefault();
    if (!config || channelId === null) return;
    setErrors(NO_ERRORS);
    setNotice(null);
    try {
      setConfig(await request<SurveyConfig>("PUT", `/api/v1/channels/${channelId}/survey`, { body: { ...config, template_name: config.template_name || null } }));
      setNotice("Survey settings saved.");
    } catch (err) {
      setErrors(formErrors(err, ["delay_seconds", "template_name", "template_language"]));
    }
  };
  return (
    <div class="admin-body">
      <div class="admin-toolbar">
        <label for="survey-channel">Channel</label>
        <select id="survey-channel" value={channelId === null ? "" : String(channelId)} onChange={(e) => setChannelId(Number(e.currentTarget.value))}>
          {channels.map((c) => (
            <option key={c.id} value={String(c.id)}>
              {c.name}
            </option>
          ))}
        </select>
      </div>
      {config && (
        <form class="admin-form" aria-label="Survey settings" onSubmit={(e) => void save(e)}>
          <label class="option">
            <input type="checkbox" disabled={!isAdmin} checked={config.enabled} onChange={(e) => setConfig({ ...config, enabled: e.currentTarget.checked })} />
            Ask for a rating after a conversation is resolved
          </label>
          <Field id="survey-delay" label="Delay (seconds)" error={errors.fields.delay_seconds}>
            {(d) => <input id="survey-delay" type="number" min={0} disabled={!isAdmin} value={String(config.delay_seconds)} aria-describedby={d} onInput={(e) => setConfig({ ...config, delay_seconds: Number(e.currentTarget.value) })} />}
          </Field>
          <Field id="survey-template" label="Template when the 24-hour window is closed" hint="An approved template's name; empty: skip the survey then" error={errors.fields.template_name}>
            {(d) => <input id="survey-template" type="text" disabled={!isAdmin} value={config.template_name ?? ""} aria-describedby={d} onInput={(e) => setConfig({ ...config, template_name: e.currentTarget.value })} />}
          </Field>
          <div class="preview" aria-label="Preview">
            <p class="muted small">Preview</p>
            <p class="bubble preview-bubble">How did we do? Rate this conversation from 1 (bad) to 5 (great).</p>
          </div>
          <FormAlert error={errors.general} />
          {notice && (
            <p role="status" class="notice">
              {notice}
            </p>
          )}
          {isAdmin && (
            <button type="submit" class="btn primary">
              Save survey settings
            </button>
          )}
        </form>
      )}
    </div>
  );
}
