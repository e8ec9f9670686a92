// The bot flow editor: the YAML with line numbers, the validation's `line N: reason` shown on
// its line as one types (the server's own check, so the editor and saving never disagree), a
// diagram of the nodes, versions with who and when, activate and roll back.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError, request } from "../api";
import type { Id } from "../types";
import type { PageProps } from "./Admin";
import type { AdminAgent } from "./AgentsPage";
import type { AdminChannel } from "./ChannelsPage";
import { FlowDiagram } from "./FlowDiagram";
import type { FlowNode } from "./flowDiagram";
import { type Problem, parseProblems, problemsByLine } from "./forms";
import { useLive } from "./live";
import { FormAlert } from "./ui";

interface FlowVersion {
  id: Id;
  version: number;
  name: string;
  active: boolean;
  created_by: Id | null;
  created_at: string;
  source?: string;
}

interface Validation {
  ok: boolean;
  problems: Problem[];
  nodes: FlowNode[];
}

export function BotFlowsPage({ isAdmin }: PageProps) {
  const [channels, setChannels] = useState<AdminChannel[]>([]);
  const [agents, setAgents] = useState<AdminAgent[]>([]);
  const [channelId, setChannelId] = useState<Id | null>(null);
  const [source, setSource] = useState("");
  const [versions, setVersions] = useState<FlowVersion[]>([]);
  const [check, setCheck] = useState<Validation | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const gutter = useRef<HTMLPreElement>(null);

  const loadChannels = useCallback(async () => {
    const [list, people] = await Promise.all([
      request<{ items: AdminChannel[] }>("GET", "/api/v1/channels"),
      request<{ items: AdminAgent[] }>("GET", "/api/v1/agents", { query: { include_inactive: "true" } }),
    ]);
    setChannels(list.items);
    setAgents(people.items);
    setChannelId((current) => current ?? (list.items.length ? list.items[0].id : null));
  }, []);
  useEffect(() => void loadChannels().catch(() => undefined), [loadChannels]);
  useLive(["channel.", "agent."], () => void loadChannels().catch(() => undefined));

  // The channel whose flow is shown: an answer for another (the choice changed meanwhile) is dropped.
  const shownChannel = useRef<Id | null>(null);
  const load = useCallback(async (id: Id) => {
    shownChannel.current = id;
    setLoading(true);
    const list = await request<{ items: FlowVersion[] }>("GET", `/api/v1/channels/${id}/bot/versions`);
    let text = "";
    try {
      text = (await request<FlowVersion>("GET", `/api/v1/channels/${id}/bot`)).source ?? "";
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
    }
    if (shownChannel.current !== id) return;
    setVersions(list.items);
    setSource(text);
    setLoading(false);
  }, []);
  useEffect(() => {
    if (channelId !== null) void load(channelId).catch((err) => setError(String(err)));
  }, [channelId, load]);
  // Another admin's save, activation or switch-off: the versions list follows; the text being
  // edited here is left alone.
  useLive(["bot_flow."], () => {
    const id = shownChannel.current;
    if (id === null) return;
    void request<{ items: FlowVersion[] }>("GET", `/api/v1/channels/${id}/bot/versions`)
      .then((list) => shownChannel.current === id && setVersions(list.items))
      .catch(() => undefined);
  });

  // Validate as one types (debounced); the answer for an older text is dropped.
  useEffect(() => {
    if (channelId === null || !source.trim()) {
      setCheck(null);
      return undefined;
    }
    let stale = false;
    const timer = setTimeout(() => {
      request<Validation>("POST", `/api/v1/channels/${channelId}/bot/validate`, { text: source })
        .then((result) => !stale && setCheck(result))
        .catch(() => undefined);
    }, 300);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [channelId, source]);

  const save = async () => {
    if (channelId === null) return;
    setError(null);
    setNotice(null);
    try {
      const flow = await request<FlowVersion>("PUT", `/api/v1/channels/${channelId}/bot`, { text: source });
      setNotice(`Version ${flow.version} is active.`);
      await load(channelId);
    } catch (err) {
      if (err instanceof ApiError) {
        const problems = parseProblems(err.detail);
        if (problems.length) setCheck({ ok: false, problems, nodes: [] });
        setError(err.detail);
      } else setError(String(err));
    }
  };

  const activate = async (version: number) => {
    if (channelId === null) return;
    setError(null);
    try {
      const flow = await request<FlowVersion>("POST", `/api/v1/channels/${channelId}/bot/versions/${version}/activate`);
      setNotice(`Version ${version} is active again (saved as version ${flow.version}).`);
      await load(channelId);
    } catch (err) {
      setError(err instanceof ApiError ? err.detail : String(err));
    }
  };

  const lines = source.split("\n");
  const byLine = problemsByLine(check?.problems ?? []);
  const who = (id: Id | null) => agents.find((a) => a.id === id)?.name ?? (id === null ? "the command line" : `agent ${id}`);
  return (
    <div class="admin-body">
      <div class="admin-toolbar">
        <label for="flow-channel">Channel</label>
        <select id="flow-channel" value={channelId === null ? "" : String(channelId)} onChange={(e) => (setLoading(true), setChannelId(Number(e.currentTarget.value)))}>
          {channels.map((c) => (
            <option key={c.id} value={String(c.id)}>
              {c.name}
            </option>
          ))}
        </select>
        <a class="btn" href="/sandbox" target="_blank" rel="noopener">
          Try it in the sandbox phone
        </a>
      </div>
      <div class="flow-editor">
        <pre class="flow-gutter" aria-hidden="true" ref={gutter}>
          {lines.map((_, i) => (
            <span key={i} class={byLine.has(i + 1) ? "flow-line has-error" : "flow-line"}>
              {i + 1}
              {"\n"}
            </span>
          ))}
        </pre>
        <label for="flow-source" class="sr-only">
          Flow YAML
        </label>
        <textarea
          id="flow-source"
          class="flow-source"
          spellcheck={false}
          wrap="off"
          rows={Math.min(Math.max(lines.length + 1, 12), 40)}
          value={source}
          readOnly={!isAdmin || loading}
          aria-busy={loading}
          aria-describedby="flow-problems"
          onInput={(e) => setSource(e.currentTarget.value)}
          onScroll={(e) => {
            if (gutter.current) gutter.current.scrollTop = e.currentTarget.scrollTop;
          }}
        />
      </div>
      <div id="flow-problems" role="status" class="flow-problems">
        {check && check.ok && <p class="notice">No problems.</p>}
        {check && !check.ok && (
          <ul aria-label="Problems">
            {check.problems.map((p, i) => (
              <li key={i} class="error">
                Line {p.line}: {p.message}
              </li>
            ))}
          </ul>
        )}
      </div>
      {check && check.ok && check.nodes.length > 0 && (
        <section class="flow-diagram" aria-labelledby="flow-diagram-title">
          <h3 id="flow-diagram-title">Nodes</h3>
          <FlowDiagram nodes={check.nodes} />
        </section>
      )}
      <FormAlert error={error} />
      {notice && (
        <p role="status" class="notice">
          {notice}
        </p>
      )}
      {isAdmin && (
        <button type="button" class="btn primary" disabled={!source.trim()} onClick={() => void save()}>
          Save and activate
        </button>
      )}
      <section aria-labelledby="flow-versions-title">
        <h3 id="flow-versions-title">Versions</h3>
        <ul class="admin-list" aria-label="Versions">
          {versions.map((v) => (
            <li key={v.id} class="admin-item">
              <div class="admin-item-main">
                <span class="admin-item-title">
                  Version {v.version}: {v.name} {v.active && <span class="pill status-assigned">active</span>}
                </span>
                <span class="muted small">
                  by {who(v.created_by)}, {new Date(v.created_at).toLocaleString()}
                </span>
              </div>
              {isAdmin && !v.active && (
                <div class="admin-item-actions">
                  <button type="button" class="btn small" aria-label={`Activate version ${v.version}`} onClick={() => void activate(v.version)}>
                    Activate
                  </button>
                </div>
              )}
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}
