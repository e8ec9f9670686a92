import { useCallback, useEffect, useState } from "preact/hooks";
import { request } from "../api";
import type { Id } from "../types";
import type { PageProps } from "./Admin";
import { matches } from "./forms";
import { useLive } from "./live";
import { Field, FormAlert, type FormErrors, NO_ERRORS, formErrors } from "./ui";

export interface AdminChannel {
  id: Id;
  name: string;
  provider: string;
  phone_number_id: string;
  business_account_id: string | null;
  default_team_id: Id | null;
  is_default: boolean;
  has_access_token: boolean;
  has_app_secret: boolean;
  webhook_url: string;
  verify_token: string;
}

interface TestResult {
  ok: boolean | null;
  display_phone_number?: string;
  verified_name?: string;
  quality_rating?: string;
  messaging_limit_tier?: string;
  error?: { code: number | null; message: string };
}

const FIELDS = ["name", "provider", "phone_number_id", "business_account_id", "access_token", "app_secret", "api_base_url", "default_team"];

interface Draft {
  provider: string;
  name: string;
  phone_number_id: string;
  business_account_id: string;
  access_token: string;
  app_secret: string;
  api_base_url: string;
  default_team: string;
}

const EMPTY: Draft = { provider: "cloud_api", name: "", phone_number_id: "", business_account_id: "", access_token: "", app_secret: "", api_base_url: "", default_team: "" };

export function ChannelsPage({ isAdmin }: PageProps) {
  const [channels, setChannels] = useState<AdminChannel[]>([]);
  const [teams, setTeams] = useState<{ id: Id; name: string }[]>([]);
  const [query, setQuery] = useState("");
  const [tests, setTests] = useState<Record<string, TestResult | "testing">>({});
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [added, setAdded] = useState<AdminChannel | null>(null);
  const [secrets, setSecrets] = useState<Record<string, { access_token: string; app_secret: string }>>({});
  const [rowErrors, setRowErrors] = useState<Record<string, FormErrors>>({});
  const [saved, setSaved] = useState<Record<string, string>>({});

  const load = useCallback(async () => {
    const [list, teamList] = await Promise.all([
      request<{ items: AdminChannel[] }>("GET", "/api/v1/channels"),
      request<{ items: { id: Id; name: string }[] }>("GET", "/api/v1/teams"),
    ]);
    setChannels(list.items);
    setTeams(teamList.items);
  }, []);
  useEffect(() => void load().catch(() => undefined), [load]);
  useLive(["channel.", "team."], () => void load().catch(() => undefined));

  const test = async (channel: AdminChannel) => {
    setTests((t) => ({ ...t, [String(channel.id)]: "testing" }));
    try {
      const result = await request<TestResult>("POST", `/api/v1/channels/${channel.id}/test`);
      setTests((t) => ({ ...t, [String(channel.id)]: result }));
    } catch (err) {
      setTests((t) => ({ ...t, [String(channel.id)]: { ok: false, error: { code: null, message: formErrors(err, []).general ?? "failed" } } }));
    }
  };

  const newVerifyToken = async (channel: AdminChannel) => {
    await request("POST", `/api/v1/channels/${channel.id}/verify-token`);
    await load();
  };

  const add = async (event: Event) => {
    event.preventDefault();
    setErrors(NO_ERRORS);
    setAdded(null);
    const body: Record<string, unknown> = { provider: draft.provider, name: draft.name, phone_number_id: draft.phone_number_id, access_token: draft.access_token };
    if (draft.provider === "cloud_api") body.app_secret = draft.app_secret;
    if (draft.business_account_id.trim()) body.business_account_id = draft.business_account_id.trim();
    if (draft.api_base_url.trim()) body.api_base_url = draft.api_base_url.trim();
    if (draft.default_team) body.default_team = draft.default_team;
    try {
      const channel = await request<AdminChannel>("POST", "/api/v1/channels", { body });
      setAdded(channel);
      setDraft(EMPTY);
      await load();
    } catch (err) {
      setErrors(formErrors(err, FIELDS));
    }
  };

  const patch = async (channel: AdminChannel, body: Record<string, unknown>) => {
    setRowErrors((e) => ({ ...e, [String(channel.id)]: NO_ERRORS }));
    try {
      await request("PATCH", `/api/v1/channels/${channel.id}`, { body });
      setSaved((m) => ({ ...m, [String(channel.id)]: "Saved." }));
      await load();
    } catch (err) {
      setRowErrors((e) => ({ ...e, [String(channel.id)]: formErrors(err, ["access_token", "app_secret", "default_team"]) }));
    }
  };

  /** A new access token is tested with the Graph API and replaces the old one only if Meta accepts
   *  it (one step: POST …/access-token); a new app secret goes through the rotation endpoint, so
   *  webhooks Meta signed with the old one still verify for the overlap. */
  const rotateSecrets = async (channel: AdminChannel, given: { access_token: string; app_secret: string }) => {
    const id = String(channel.id);
    setRowErrors((e) => ({ ...e, [id]: NO_ERRORS }));
    try {
      if (given.access_token) await request("POST", `/api/v1/channels/${channel.id}/access-token`, { body: { access_token: given.access_token } });
      if (given.app_secret) await request("POST", `/api/v1/channels/${channel.id}/app-secret`, { body: { app_secret: given.app_secret } });
      if (given.access_token || given.app_secret) setSaved((m) => ({ ...m, [id]: given.app_secret ? "Saved. The old app secret still verifies webhooks for 72 hours." : "Saved." }));
      setSecrets({ ...secrets, [id]: { access_token: "", app_secret: "" } });
      await load();
    } catch (err) {
      setRowErrors((e) => ({ ...e, [id]: formErrors(err, ["access_token", "app_secret"]) }));
    }
  };

  const setSecret = (channel: AdminChannel, key: "access_token" | "app_secret", value: string) => {
    const current = secrets[String(channel.id)] ?? { access_token: "", app_secret: "" };
    setSecrets({ ...secrets, [String(channel.id)]: { ...current, [key]: value } });
  };

  const teamName = (id: Id | null) => teams.find((t) => t.id === id)?.name ?? "none";
  const shown = channels.filter((c) => matches(query, c.name, c.phone_number_id));
  const cloud = draft.provider === "cloud_api";
  return (
    <div class="admin-body">
      <div class="admin-toolbar">
        <label for="channel-search" class="sr-only">
          Search channels
        </label>
        <input id="channel-search" type="search" placeholder="Search channels" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
      </div>
      <ul class="admin-list" aria-label="Channels list">
        {shown.map((channel) => {
          const result = tests[String(channel.id)];
          return (
            <li key={channel.id} class="admin-item admin-item-wide">
              <div class="admin-item-main">
                <span class="admin-item-title">{channel.name}</span>
                <span class="muted small">
                  {channel.provider === "cloud_api" ? "Cloud API" : "Ultramsg"} · {channel.phone_number_id} · team {teamName(channel.default_team_id)}
                  {channel.is_default ? " · default (set by WHATSAPP_* variables)" : ""}
                  {channel.has_access_token ? "" : " · no access token"}
                </span>
                <label class="small" for={`webhook-${channel.id}`}>
                  Webhook URL
                </label>
                <input id={`webhook-${channel.id}`} type="text" readOnly value={channel.webhook_url} />
                {channel.provider === "cloud_api" && (
                  <>
                    <label class="small" for={`verify-${channel.id}`}>
                      Verify token
                    </label>
                    <input id={`verify-${channel.id}`} type="text" readOnly value={channel.verify_token} />
                  </>
                )}
                {isAdmin && !channel.is_default && (
                  <details class="rotate">
                    <summary>Default team and secrets</summary>
                    <Field id={`team-${channel.id}`} label="Default team" error={rowErrors[String(channel.id)]?.fields.default_team}>
                      {(d) => (
                        <select
                          id={`team-${channel.id}`}
                          aria-describedby={d}
                          value={teams.find((t) => t.id === channel.default_team_id)?.name ?? ""}
                          onChange={(e) => void patch(channel, { default_team: e.currentTarget.value || null })}
                        >
                          <option value="">None</option>
                          {teams.map((t) => (
                            <option key={t.id} value={t.name}>
                              {t.name}
                            </option>
                          ))}
                        </select>
                      )}
                    </Field>
                    <Field id={`token-${channel.id}`} label="New access token" error={rowErrors[String(channel.id)]?.fields.access_token}>
                      {(d) => (
                        <input
                          id={`token-${channel.id}`}
                          type="password"
                          autocomplete="off"
                          aria-describedby={d}
                          value={secrets[String(channel.id)]?.access_token ?? ""}
                          onInput={(e) => setSecret(channel, "access_token", e.currentTarget.value)}
                        />
                      )}
                    </Field>
                    {channel.provider === "cloud_api" && (
                      <Field id={`secret-${channel.id}`} label="New app secret" error={rowErrors[String(channel.id)]?.fields.app_secret}>
                        {(d) => (
                          <input
                            id={`secret-${channel.id}`}
                            type="password"
                            autocomplete="off"
                            aria-describedby={d}
                            value={secrets[String(channel.id)]?.app_secret ?? ""}
                            onInput={(e) => setSecret(channel, "app_secret", e.currentTarget.value)}
                          />
                        )}
                      </Field>
                    )}
                    <FormAlert error={rowErrors[String(channel.id)]?.general ?? null} />
                    <button
                      type="button"
                      class="btn small"
                      onClick={() => {
                        const given = secrets[String(channel.id)] ?? { access_token: "", app_secret: "" };
                        void rotateSecrets(channel, given);
                      }}
                    >
                      Rotate secrets
                    </button>
                    {saved[String(channel.id)] && <p class="muted small">{saved[String(channel.id)]}</p>}
                  </details>
                )}
                <div role="status" class="test-result">
                  {result === "testing" && "Testing…"}
                  {result && result !== "testing" && result.ok && (
                    <span>
                      Connected: {result.verified_name} ({result.display_phone_number}), quality {result.quality_rating}, messaging limit {result.messaging_limit_tier}
                    </span>
                  )}
                  {result && result !== "testing" && !result.ok && (
                    <span class="error">
                      Connection failed{result.error?.code ? ` (code ${result.error.code})` : ""}: {result.error?.message}
                    </span>
                  )}
                </div>
              </div>
              <div class="admin-item-actions">
                {channel.provider === "cloud_api" && (
                  <button type="button" class="btn small" aria-label={`Test connection of ${channel.name}`} onClick={() => void test(channel)}>
                    Test connection
                  </button>
                )}
                {isAdmin && channel.provider === "cloud_api" && !channel.is_default && (
                  <button type="button" class="btn small" aria-label={`New verify token for ${channel.name}`} onClick={() => void newVerifyToken(channel)}>
                    New verify token
                  </button>
                )}
              </div>
            </li>
          );
        })}
      </ul>
      {added && (
        <div role="status" class="notice">
          Channel {added.name} added. In Meta's dashboard set the webhook to {added.webhook_url}
          {added.provider === "cloud_api" ? ` with the verify token ${added.verify_token}` : ""}.
        </div>
      )}
      {isAdmin && (
        <form class="admin-form" aria-label="Add a channel" onSubmit={(e) => void add(e)}>
          <h3>Add a channel</h3>
          <Field id="channel-provider" label="Provider" error={errors.fields.provider}>
            {(d) => (
              <select id="channel-provider" value={draft.provider} aria-describedby={d} onChange={(e) => setDraft({ ...draft, provider: e.currentTarget.value })}>
                <option value="cloud_api">WhatsApp Cloud API</option>
                <option value="ultramsg">Ultramsg</option>
              </select>
            )}
          </Field>
          <Field id="channel-name" label="Channel name" error={errors.fields.name}>
            {(d) => <input id="channel-name" type="text" value={draft.name} aria-describedby={d} onInput={(e) => setDraft({ ...draft, name: e.currentTarget.value })} />}
          </Field>
          <Field id="channel-number" label={cloud ? "Phone number id" : "Instance id"} error={errors.fields.phone_number_id}>
            {(d) => <input id="channel-number" type="text" value={draft.phone_number_id} aria-describedby={d} onInput={(e) => setDraft({ ...draft, phone_number_id: e.currentTarget.value })} />}
          </Field>
          {cloud && (
            <Field id="channel-waba" label="WhatsApp Business Account id" error={errors.fields.business_account_id}>
              {(d) => <input id="channel-waba" type="text" value={draft.business_account_id} aria-describedby={d} onInput={(e) => setDraft({ ...draft, business_account_id: e.currentTarget.value })} />}
            </Field>
          )}
          <Field id="channel-token" label={cloud ? "Access token" : "Ultramsg token"} error={errors.fields.access_token}>
            {(d) => <input id="channel-token" type="password" autocomplete="off" value={draft.access_token} aria-describedby={d} onInput={(e) => setDraft({ ...draft, access_token: e.currentTarget.value })} />}
          </Field>
          {cloud && (
            <Field id="channel-secret" label="App secret" error={errors.fields.app_secret}>
              {(d) => <input id="channel-secret" type="password" autocomplete="off" value={draft.app_secret} aria-describedby={d} onInput={(e) => setDraft({ ...draft, app_secret: e.currentTarget.value })} />}
            </Field>
          )}
          <Field id="channel-base" label="API base URL" hint={cloud ? "Empty: the configured Graph API (WHATSAPP_API_BASE_URL)" : "Ultramsg's API address"} error={errors.fields.api_base_url}>
            {(d) => <input id="channel-base" type="text" value={draft.api_base_url} aria-describedby={d} onInput={(e) => setDraft({ ...draft, api_base_url: e.currentTarget.value })} />}
          </Field>
          <Field id="channel-team" label="Default team" error={errors.fields.default_team}>
            {(d) => (
              <select id="channel-team" value={draft.default_team} aria-describedby={d} onChange={(e) => setDraft({ ...draft, default_team: e.currentTarget.value })}>
                <option value="">None</option>
                {teams.map((t) => (
                  <option key={t.id} value={t.name}>
                    {t.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <FormAlert error={errors.general} />
          <button type="submit" class="btn primary">
            Add channel
          </button>
        </form>
      )}
    </div>
  );
}
