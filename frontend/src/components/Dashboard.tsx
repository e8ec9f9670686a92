// The team lead's dashboard: a live wallboard of every team's queue and SLA clocks, and reports
// over a chosen period with charts whose bars list the conversations behind them.

import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  LinearScale,
  Tooltip,
} from "chart.js";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, buildUrl, errorDetail, type Query } from "../api";
import { formatDuration } from "../format";
import { useNow } from "../hooks";
import type { ChartBucket, Id, QueueStat, Report, ReportRow, TemplateFigures } from "../types";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

interface Props {
  /** The newest event seq the inbox has seen: every change re-reads the wallboard. */
  lastSeq: number | null;
  onOpen: (id: Id) => void;
}

export function Dashboard({ lastSeq, onOpen }: Props) {
  return (
    <main class="dashboard" aria-label="Dashboard">
      <Wallboard lastSeq={lastSeq} />
      <Reports onOpen={onOpen} />
    </main>
  );
}

// ---------------------------------------------------------------- wallboard

function Wallboard({ lastSeq }: { lastSeq: number | null }) {
  const [stats, setStats] = useState<{ items: QueueStat[]; fetchedAt: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const load = () =>
    api.queueStats().then(
      (result) => {
        setStats({ items: result.items ?? [], fetchedAt: Date.now() });
        setError(null);
      },
      (err) => setError(`Could not load the wallboard: ${errorDetail(err)}`),
    );

  // Re-read shortly after each event (coalescing bursts), presence changes (`agent.presence`) included.
  useEffect(() => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => void load(), stats ? 150 : 0);
    return () => {
      if (timer.current) clearTimeout(timer.current);
    };
  }, [lastSeq]);

  const now = useNow(1000, true);
  return (
    <section class="wallboard" aria-label="Wallboard">
      <h2>Live queues</h2>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <table class="wallboard-table">
        <thead>
          <tr>
            <th scope="col">Team</th>
            <th scope="col">Queued</th>
            <th scope="col">Oldest wait</th>
            <th scope="col">Assigned</th>
            <th scope="col">Online</th>
            <th scope="col">Away</th>
            <th scope="col">At risk</th>
            <th scope="col">Breached</th>
            <th scope="col">SLA met (24 h)</th>
          </tr>
        </thead>
        <tbody>
          {(stats?.items ?? []).map((t) => {
            const wait = t.queued > 0 ? t.oldest_wait_seconds + (now - (stats?.fetchedAt ?? now)) / 1000 : 0;
            return (
              <tr key={String(t.id)} data-team={t.name}>
                <th scope="row">{t.name}</th>
                <td class="queued">{t.queued}</td>
                <td class={`oldest${wait > 300 ? " late" : ""}`}>{t.queued > 0 ? formatDuration(wait) : "–"}</td>
                <td class="assigned">{t.assigned}</td>
                <td class="online">{t.agents_online}</td>
                <td class="away">{t.agents_away}</td>
                <td class={`at-risk${t.sla.at_risk ? " warn" : ""}`}>{t.sla.at_risk}</td>
                <td class={`breached${t.sla.breached_open ? " bad" : ""}`}>{t.sla.breached_open}</td>
                <td class="met">{t.sla.met_percent === null ? "–" : `${t.sla.met_percent}%`}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

// ---------------------------------------------------------------- reports

const PERIODS: { key: string; label: string; days: number }[] = [
  { key: "1", label: "Last 24 hours", days: 1 },
  { key: "7", label: "Last 7 days", days: 7 },
  { key: "30", label: "Last 30 days", days: 30 },
];

function periodQuery(days: number, teamId: string): Query {
  const end = new Date();
  const start = new Date(end.getTime() - days * 86_400_000);
  return {
    start: start.toISOString(),
    end: end.toISOString(),
    tz: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC",
    team_id: teamId || undefined,
  };
}

interface Selection {
  chart: string;
  key: string;
  title: string;
}

function Reports({ onOpen }: { onOpen: (id: Id) => void }) {
  const [days, setDays] = useState(7);
  const [teamId, setTeamId] = useState("");
  const [teams, setTeams] = useState<{ id: Id; name: string }[]>([]);
  const [report, setReport] = useState<Report | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selection, setSelection] = useState<Selection | null>(null);
  const [rows, setRows] = useState<ReportRow[] | null>(null);
  const [reloaded, setReloaded] = useState(0);
  const query = useMemo(() => periodQuery(days, teamId), [days, teamId, reloaded]);

  useEffect(() => {
    api.teams().then(
      (r) => setTeams((r.items ?? []).map((t) => ({ id: t.id, name: t.name }))),
      () => setTeams([]),
    );
  }, []);
  useEffect(() => {
    let cancelled = false;
    setSelection(null);
    api.report(query).then(
      (r) => !cancelled && (setReport(r), setError(null)),
      (err) => !cancelled && setError(`Could not load the report: ${errorDetail(err)}`),
    );
    return () => {
      cancelled = true;
    };
  }, [query]);
  useEffect(() => {
    if (!selection) return undefined;
    let cancelled = false;
    setRows(null);
    api.reportConversations(query, selection.chart, selection.key).then(
      (r) => !cancelled && setRows(r.items ?? []),
      (err) => !cancelled && setError(errorDetail(err)),
    );
    return () => {
      cancelled = true;
    };
  }, [selection, query]);

  const pick = (chart: string, title: string) => (bucket: ChartBucket) =>
    setSelection({ chart, key: bucket.key, title: `${title}: ${bucket.label}` });
  const percentBars = (items: Report["sla_by_team"]): ChartBucket[] =>
    items.map((i) => ({ key: i.key, label: i.label, count: i.met_percent ?? 0 }));

  return (
    <section class="reports" aria-label="Reports">
      <div class="reports-bar">
        <h2>Reports</h2>
        <label for="report-period">Period</label>
        <select id="report-period" value={String(days)} onChange={(e) => setDays(Number(e.currentTarget.value))}>
          {PERIODS.map((p) => (
            <option key={p.key} value={p.key}>
              {p.label}
            </option>
          ))}
        </select>
        <label for="report-team">Team</label>
        <select id="report-team" value={teamId} onChange={(e) => setTeamId(e.currentTarget.value)}>
          <option value="">All teams</option>
          {teams.map((t) => (
            <option key={String(t.id)} value={String(t.id)}>
              {t.name}
            </option>
          ))}
        </select>
        <button type="button" class="btn ghost" onClick={() => setReloaded((n) => n + 1)}>
          Refresh
        </button>
        <a class="btn ghost" href={buildUrl("/api/v1/reports/export.csv", query)} download>
          Export CSV
        </a>
      </div>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {report && (
        <>
          <dl class="kpis">
            <Kpi label="Conversations" value={String(report.totals.conversations)} />
            <Kpi label="Median first response" value={seconds(report.first_response.median_seconds)} />
            <Kpi label="Median resolution" value={seconds(report.resolution.median_seconds)} />
            <Kpi label="CSAT" value={report.csat.average === null ? "–" : `${report.csat.average} / 5 (${report.csat.responses})`} />
            <Kpi label="Delivered" value={percent(report.delivery.delivery_rate)} />
            <Kpi label="Read" value={percent(report.delivery.read_rate)} />
            <Kpi label="Customer replied" value={percent(report.delivery.reply_rate)} />
          </dl>
          <div class="charts">
            <BarChart title="Conversations by hour" buckets={report.by_hour} onPick={pick("by_hour", "Created at")} />
            <BarChart title="First response time" buckets={report.first_response.buckets} onPick={pick("first_response", "First response")} />
            <BarChart title="Resolution time" buckets={report.resolution.buckets} onPick={pick("resolution", "Resolution")} />
            <BarChart title="SLA met % per team" unit="%" buckets={percentBars(report.sla_by_team)} onPick={pick("sla_by_team", "SLA of team")} />
            <BarChart title="SLA met % per agent" unit="%" buckets={percentBars(report.sla_by_agent)} onPick={pick("sla_by_agent", "SLA of agent")} />
            <BarChart title="CSAT ratings" buckets={report.csat.buckets} onPick={pick("csat", "Rated")} />
            <BarChart title="Delivery" buckets={report.delivery.buckets} onPick={pick("delivery", "Messages")} />
          </div>
        </>
      )}
      {report && <BillingTable billing={report.billing} />}
      <TemplateTable since={String(query.start)} until={String(query.end)} />
      {selection && (
        <section class="drilldown" aria-label="Conversations behind the bar">
          <h3>{selection.title}</h3>
          {rows === null ? (
            <p class="muted">Loading…</p>
          ) : rows.length === 0 ? (
            <p class="muted">No conversations</p>
          ) : (
            <ul>
              {rows.map((r) => (
                <li key={String(r.id)}>
                  <button type="button" class="link" onClick={() => onOpen(r.id)}>
                    {r.contact}
                  </button>{" "}
                  <span class="muted">
                    {r.team ?? "no team"} · {new Date(r.created_at).toLocaleString()} · first response {seconds(r.first_response_seconds)}
                    {r.csat !== null ? ` · CSAT ${r.csat}` : ""}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
    </section>
  );
}

/** Billable messages of the period by Meta's pricing category (the report's `billing`). */
function BillingTable({ billing }: { billing: Report["billing"] }) {
  return (
    <section class="billing-report" aria-label="Billable messages">
      <h3>Billable messages</h3>
      {billing.by_category.length === 0 ? (
        <p class="muted small">No priced messages in this period.</p>
      ) : (
        <div class="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Category</th>
                <th scope="col">Billable</th>
                <th scope="col">Free</th>
              </tr>
            </thead>
            <tbody>
              {billing.by_category.map((row) => (
                <tr key={row.category}>
                  <th scope="row">{row.category}</th>
                  <td>{row.billable}</td>
                  <td>{row.free}</td>
                </tr>
              ))}
              <tr>
                <th scope="row">All</th>
                <td>{billing.billable}</td>
                <td>{billing.free}</td>
              </tr>
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** Per-template figures of the period (GET /api/v1/templates/stats). */
function TemplateTable({ since, until }: { since: string; until: string }) {
  const [rows, setRows] = useState<TemplateFigures[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let cancelled = false;
    api.templateReport({ since, until }).then(
      (r) => !cancelled && (setRows(r.items ?? []), setError(null)),
      (err) => !cancelled && setError(errorDetail(err)),
    );
    return () => {
      cancelled = true;
    };
  }, [since, until]);
  const failed = (row: TemplateFigures) =>
    Object.entries(row.failed)
      .map(([code, n]) => `${n} × ${code}`)
      .join(", ") || "0";
  return (
    <section class="template-report" aria-label="Templates">
      <h3>Templates</h3>
      {error && <p class="muted small">Template figures unavailable: {error}</p>}
      {rows !== null && rows.length === 0 && !error && <p class="muted small">No templates sent in this period.</p>}
      {rows !== null && rows.length > 0 && (
        <div class="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Template</th>
                <th scope="col">Language</th>
                <th scope="col">Sent</th>
                <th scope="col">Delivered</th>
                <th scope="col">Read</th>
                <th scope="col">Replied in 24 h</th>
                <th scope="col">Failed (code)</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={String(row.template_id)}>
                  <th scope="row">{row.name}</th>
                  <td>{row.language}</td>
                  <td>{row.sent}</td>
                  <td>{row.delivered}</td>
                  <td>{row.read}</td>
                  <td>{row.replied}</td>
                  <td>{failed(row)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function seconds(value: number | null): string {
  return value === null ? "–" : formatDuration(value);
}

function percent(value: number | null): string {
  return value === null ? "–" : `${value}%`;
}

function Kpi({ label, value }: { label: string; value: string }) {
  return (
    <div class="kpi">
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

function BarChart(props: { title: string; buckets: ChartBucket[]; unit?: string; onPick: (bucket: ChartBucket) => void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<"bar"> | null>(null);
  const latest = useRef(props);
  latest.current = props;

  useEffect(() => {
    if (!canvas.current) return undefined;
    const config: ChartConfiguration<"bar"> = {
      type: "bar",
      data: { labels: [], datasets: [{ label: props.title, data: [], backgroundColor: "#2f7d6d" }] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { tooltip: { callbacks: { label: (item) => `${item.formattedValue}${latest.current.unit ?? ""}` } } },
        onClick: (_event, elements) => {
          const index = elements[0]?.index;
          const bucket = index === undefined ? undefined : latest.current.buckets[index];
          if (bucket) latest.current.onPick(bucket);
        },
      },
    };
    chart.current = new Chart(canvas.current, config);
    return () => {
      chart.current?.destroy();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    const current = chart.current;
    if (!current) return;
    current.data.labels = props.buckets.map((b) => b.label);
    current.data.datasets[0].data = props.buckets.map((b) => b.count);
    current.update();
  }, [props.buckets]);

  const total = props.buckets.reduce((sum, b) => sum + b.count, 0);
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div class="chart-box">
        <canvas ref={canvas} role="img" aria-label={`${props.title} chart`} />
      </div>
      {/* The same figures as text: for assistive technology, and a click target per bar. */}
      <ul class="chart-legend" aria-label={`${props.title} bars`}>
        {props.buckets
          .filter((b) => b.count > 0)
          .map((b) => (
            <li key={b.key}>
              <button type="button" class="link" onClick={() => props.onPick(b)}>
                {b.label}: {b.count}
                {props.unit ?? ""}
              </button>
            </li>
          ))}
        {total === 0 && <li class="muted">No data in this period</li>}
      </ul>
    </figure>
  );
}
