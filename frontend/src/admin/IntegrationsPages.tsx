// API keys, outgoing webhooks and the template library, on the APIs that business systems use.
// A key's secret and a webhook's signing secret appear once, right after they are made.
import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError, request } from "../api";
import type { Id, Template } from "../types";
import type { PageProps } from "./Admin";
import { auditChanges, matches } from "./forms";
import { CONFIG_EVENTS, useLive } from "./live";
import { Field, FormAlert, type FormErrors, NO_ERRORS, formErrors } from "./ui";

function AdminsOnly({ isAdmin, what }: { isAdmin: boolean; what: string }) {
  return isAdmin ? null : <p class="muted">Only admins manage {what}.</p>;
}

// ---------------------------------------------------------------- API keys
interface KeyRow {
  id: Id;
  name: string;
  scopes: string[];
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export function ApiKeysPage({ isAdmin }: PageProps) {
  const [keys, setKeys] = useState<KeyRow[]>([]);
  const [scopes, setScopes] = useState<string[]>([]);
  const [name, setName] = useState("");
  const [chosen, setChosen] = useState<string[]>([]);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [created, setCreated] = useState<string | null>(null);
  const [query, setQuery] = useState("");
  const load = useCallback(async () => {
    const [list, all] = await Promise.all([
      request<{ items: KeyRow[] }>("GET", "/api/v1/api-keys", { query: { include_revoked: "true" } }),
      request<{ items: string[] }>("GET", "/api/v1/api-keys/scopes"),
    ]);
    setKeys(list.items);
    setScopes(all.items);
  }, []);
  useEffect(() => {
    if (isAdmin) void load().catch(() => undefined);
  }, [isAdmin, load]);
  useLive(["api_key."], () => {
    if (isAdmin) void load().catch(() => undefined);
  });
  if (!isAdmin) return <AdminsOnly isAdmin={isAdmin} what="API keys" />;

  const create = async (event: Event) => {
    event.preventDefault();
    setErrors(NO_ERRORS);
    setCreated(null);
    try {
      const key = await request<{ key: string }>("POST", "/api/v1/api-keys", { body: { name, scopes: chosen } });
      setCreated(key.key);
      setName("");
      setChosen([]);
      await load();
    } catch (err) {
      setErrors(formErrors(err, ["name", "scopes"]));
    }
  };
  const revoke = async (key: KeyRow) => {
    await request("DELETE", `/api/v1/api-keys/${key.id}`);
    await load();
  };
  return (
    <div class="admin-body">
      <div class="admin-toolbar">
        <label for="key-search" class="sr-only">
          Search API keys
        </label>
        <input id="key-search" type="search" placeholder="Search API keys" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
      </div>
      <ul class="admin-list" aria-label="API keys list">
        {keys.filter((k) => matches(query, k.name, k.prefix)).map((key) => (
          <li key={key.id} class={`admin-item${key.revoked_at ? " inactive" : ""}`}>
            <div class="admin-item-main">
              <span class="admin-item-title">
                {key.name} <code>{key.prefix}…</code>
              </span>
              <span class="muted small">
                {key.scopes.join(", ")} · {key.revoked_at ? "revoked" : key.last_used_at ? `last used ${new Date(key.last_used_at).toLocaleString()}` : "never used"}
              </span>
            </div>
            {!key.revoked_at && (
              <div class="admin-item-actions">
                <button type="button" class="btn small" aria-label={`Revoke ${key.name}`} onClick={() => void revoke(key)}>
                  Revoke
                </button>
              </div>
            )}
          </li>
        ))}
      </ul>
      {created && (
        <div role="status" class="notice">
          The new key (shown only now): <code class="secret">{created}</code>
        </div>
      )}
      <form class="admin-form" aria-label="New API key" onSubmit={(e) => void create(e)}>
        <h3>New API key</h3>
        <Field id="key-name" label="Key name" error={errors.fields.name}>
          {(d) => <input id="key-name" type="text" value={name} aria-describedby={d} onInput={(e) => setName(e.currentTarget.value)} />}
        </Field>
        <fieldset class="checks">
          <legend>Scopes</legend>
          {scopes.map((scope) => (
            <label key={scope} class="option">
              <input type="checkbox" checked={chosen.includes(scope)} onChange={(e) => setChosen(e.currentTarget.checked ? [...chosen, scope] : chosen.filter((s) => s !== scope))} />
              {scope}
            </label>
          ))}
          {errors.fields.scopes && <p class="error small field-error">{errors.fields.scopes}</p>}
        </fieldset>
        <FormAlert error={errors.general} />
        <button type="submit" class="btn primary">
          Create key
        </button>
      </form>
    </div>
  );
}

// ---------------------------------------------------------------- webhooks
interface EndpointRow {
  id: Id;
  url: string;
  events: string[];
  description: string | null;
  state: string;
  disabled_reason: string | null;
}

export function WebhooksPage({ isAdmin }: PageProps) {
  const [items, setItems] = useState<EndpointRow[]>([]);
  const [draft, setDraft] = useState({ url: "", events: "*", description: "" });
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [secret, setSecret] = useState<string | null>(null);
  const [query, setQuery] = useState("");
  const load = useCallback(async () => setItems((await request<{ items: EndpointRow[] }>("GET", "/api/v1/webhook-endpoints")).items), []);
  useEffect(() => {
    if (isAdmin) void load().catch(() => undefined);
  }, [isAdmin, load]);
  useLive(["webhook_endpoint."], () => {
    if (isAdmin) void load().catch(() => undefined);
  });
  if (!isAdmin) return <AdminsOnly isAdmin={isAdmin} what="webhooks" />;

  const create = async (event: Event) => {
    event.preventDefault();
    setErrors(NO_ERRORS);
    setSecret(null);
    const events = draft.events.split(",").map((s) => s.trim()).filter(Boolean);
    try {
      const made = await request<{ secret: string }>("POST", "/api/v1/webhook-endpoints", {
        body: { url: draft.url, events, description: draft.description || null },
      });
      setSecret(made.secret);
      setDraft({ url: "", events: "*", description: "" });
      await load();
    } catch (err) {
      setErrors(formErrors(err, ["url", "events", "description"]));
    }
  };
  const rotate = async (row: EndpointRow) => {
    const made = await request<{ secret: string }>("POST", `/api/v1/webhook-endpoints/${row.id}/rotate-secret`);
    setSecret(made.secret);
  };
  const remove = async (row: EndpointRow) => {
    await request("DELETE", `/api/v1/webhook-endpoints/${row.id}`);
    await load();
  };
  return (
    <div class="admin-body">
      <div class="admin-toolbar">
        <label for="hook-search" class="sr-only">
          Search webhooks
        </label>
        <input id="hook-search" type="search" placeholder="Search webhooks" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
      </div>
      <ul class="admin-list" aria-label="Webhooks list">
        {items.filter((w) => matches(query, w.url, w.description)).map((row) => (
          <li key={row.id} class="admin-item">
            <div class="admin-item-main">
              <span class="admin-item-title">{row.url}</span>
              <span class="muted small">
                {row.events.join(", ")} · {row.state}
                {row.disabled_reason ? ` (${row.disabled_reason})` : ""}
                {row.description ? ` · ${row.description}` : ""}
              </span>
            </div>
            <div class="admin-item-actions">
              <button type="button" class="btn small" aria-label={`Rotate secret of ${row.url}`} onClick={() => void rotate(row)}>
                Rotate secret
              </button>
              <button type="button" class="btn small" aria-label={`Delete ${row.url}`} onClick={() => void remove(row)}>
                Delete
              </button>
            </div>
          </li>
        ))}
      </ul>
      {secret && (
        <div role="status" class="notice">
          The signing secret (shown only now): <code class="secret">{secret}</code>
        </div>
      )}
      <form class="admin-form" aria-label="New webhook" onSubmit={(e) => void create(e)}>
        <h3>New webhook</h3>
        <Field id="hook-url" label="URL" hint="https://…; deliveries are signed with the secret shown after saving" error={errors.fields.url}>
          {(d) => <input id="hook-url" type="text" value={draft.url} aria-describedby={d} onInput={(e) => setDraft({ ...draft, url: e.currentTarget.value })} />}
        </Field>
        <Field id="hook-events" label="Events" hint="Event types separated by commas, or * for all" error={errors.fields.events}>
          {(d) => <input id="hook-events" type="text" value={draft.events} aria-describedby={d} onInput={(e) => setDraft({ ...draft, events: e.currentTarget.value })} />}
        </Field>
        <Field id="hook-description" label="Description" error={errors.fields.description}>
          {(d) => <input id="hook-description" type="text" value={draft.description} aria-describedby={d} onInput={(e) => setDraft({ ...draft, description: e.currentTarget.value })} />}
        </Field>
        <FormAlert error={errors.general} />
        <button type="submit" class="btn primary">
          Add webhook
        </button>
      </form>
    </div>
  );
}

// ---------------------------------------------------------------- templates
export function TemplatesPage(_: PageProps) {
  const [items, setItems] = useState<Template[]>([]);
  const [query, setQuery] = useState("");
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(async () => setItems((await request<{ items: Template[] }>("GET", "/api/v1/templates")).items), []);
  useEffect(() => void load().catch(() => undefined), [load]);
  useLive(["template."], () => void load().catch(() => undefined));
  const sync = async () => {
    setError(null);
    try {
      const result = await request<{ synced: number }>("POST", "/api/v1/templates/sync");
      setNotice(`${result.synced} templates synced from Meta.`);
      await load();
    } catch (err) {
      setError(err instanceof ApiError ? err.detail : String(err));
    }
  };
  return (
    <div class="admin-body">
      <div class="admin-toolbar">
        <label for="tpl-search" class="sr-only">
          Search templates
        </label>
        <input id="tpl-search" type="search" placeholder="Search templates" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
        <button type="button" class="btn" onClick={() => void sync()}>
          Sync from Meta
        </button>
      </div>
      <FormAlert error={error} />
      {notice && (
        <p role="status" class="notice">
          {notice}
        </p>
      )}
      <ul class="admin-list" aria-label="Templates list">
        {items.filter((t) => matches(query, t.name, t.language, t.category, t.status)).map((t) => (
          <li key={t.id} class="admin-item">
            <div class="admin-item-main">
              <span class="admin-item-title">
                {t.name} · {t.language}
              </span>
              <span class="muted small">
                {t.category} · {t.status}
                {t.quality ? ` · quality ${t.quality}` : ""}
                {t.reason ? ` · ${t.reason}` : ""}
              </span>
              {t.preview && <p class="bubble preview-bubble">{t.preview}</p>}
            </div>
          </li>
        ))}
      </ul>
    </div>
  );
}

// ---------------------------------------------------------------- audit log
interface AuditRow {
  id: Id;
  at: string;
  actor: { kind: string; id: Id | null; name: string | null };
  action: string;
  target: { type: string | null; id: string | null };
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  detail: string | null;
}

export function AuditLogPage({ isAdmin }: PageProps) {
  const [items, setItems] = useState<AuditRow[]>([]);
  const [action, setAction] = useState("");
  const [query, setQuery] = useState("");
  const load = useCallback(async () => {
    setItems((await request<{ items: AuditRow[] }>("GET", "/api/v1/audit", { query: { action: action.trim() || undefined } })).items);
  }, [action]);
  useEffect(() => {
    if (isAdmin) void load().catch(() => undefined);
  }, [isAdmin, load]);
  useLive(CONFIG_EVENTS, () => {
    if (isAdmin) void load().catch(() => undefined);
  });
  if (!isAdmin) return <AdminsOnly isAdmin={isAdmin} what="the audit log" />;
  return (
    <div class="admin-body">
      <div class="admin-toolbar">
        <label for="audit-action">Action starts with</label>
        <input id="audit-action" type="text" placeholder="e.g. auth." value={action} onInput={(e) => setAction(e.currentTarget.value)} />
        <label for="audit-search" class="sr-only">
          Search the audit log
        </label>
        <input id="audit-search" type="search" placeholder="Search the audit log" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
      </div>
      <ul class="admin-list" aria-label="Audit entries">
        {items
          .filter((e) => matches(query, e.action, e.actor.name, e.detail, e.target.type, e.target.id))
          .map((entry) => (
            <li key={entry.id} class="admin-item">
              <div class="admin-item-main">
                <span class="admin-item-title">{entry.action}</span>
                <span class="muted small">
                  {new Date(entry.at).toLocaleString()} · {entry.actor.name ?? entry.actor.kind}
                  {entry.target.type ? ` · ${entry.target.type} ${entry.target.id ?? ""}` : ""}
                  {entry.detail ? ` · ${entry.detail}` : ""}
                </span>
                {auditChanges(entry.before, entry.after).map((line) => (
                  <span key={line} class="muted small audit-change">
                    {line}
                  </span>
                ))}
              </div>
            </li>
          ))}
      </ul>
    </div>
  );
}
