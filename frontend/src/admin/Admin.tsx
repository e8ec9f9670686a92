// The admin console: every page of the desk's setup, each a heading of its own name. Admins
// change everything; leads see the pages and change what is theirs (their teams' members and
// hours, SLA policies). Loaded on first use, like the dashboard, so agents never download it.
import { useCallback, useEffect, useState } from "preact/hooks";
import { request } from "../api";
import type { Agent } from "../types";
import { AgentsPage } from "./AgentsPage";
import { BotFlowsPage } from "./BotFlowsPage";
import { ChannelsPage } from "./ChannelsPage";
import { ApiKeysPage, AuditLogPage, TemplatesPage, WebhooksPage } from "./IntegrationsPages";
import { QuickRepliesPage, SlaPoliciesPage, SurveysPage } from "./SettingsPages";
import { useLive } from "./live";
import { TeamsPage } from "./TeamsPage";

export interface PageProps {
  me: Agent;
  isAdmin: boolean;
}

const PAGES: { id: string; title: string; Page: (props: PageProps) => preact.JSX.Element }[] = [
  { id: "agents", title: "Agents", Page: AgentsPage },
  { id: "teams", title: "Teams", Page: TeamsPage },
  { id: "channels", title: "Channels", Page: ChannelsPage },
  { id: "bot-flows", title: "Bot flows", Page: BotFlowsPage },
  { id: "quick-replies", title: "Quick replies", Page: QuickRepliesPage },
  { id: "sla", title: "SLA policies", Page: SlaPoliciesPage },
  { id: "surveys", title: "Surveys", Page: SurveysPage },
  { id: "api-keys", title: "API keys", Page: ApiKeysPage },
  { id: "webhooks", title: "Webhooks", Page: WebhooksPage },
  { id: "templates", title: "Templates", Page: TemplatesPage },
  { id: "audit", title: "Audit log", Page: AuditLogPage },
];

export function Admin({ me }: { me: Agent }) {
  const [current, setCurrent] = useState(PAGES[0].id);
  const page = PAGES.find((p) => p.id === current) ?? PAGES[0];
  const isAdmin = me.role === "admin";
  // What leaves customers waiting for nobody (a default team without agents, an open queue with
  // no one online), re-read whenever agents, teams or presence change.
  const [warnings, setWarnings] = useState<string[]>([]);
  const loadWarnings = useCallback(async () => {
    setWarnings((await request<{ items: string[] }>("GET", "/api/v1/admin/warnings")).items);
  }, []);
  useEffect(() => void loadWarnings().catch(() => undefined), [loadWarnings]);
  useLive(["agent.", "team."], () => void loadWarnings().catch(() => undefined));
  return (
    <div class="admin">
      <nav class="admin-nav" aria-label="Admin pages">
        <ul>
          {PAGES.map((p) => (
            <li key={p.id}>
              <button
                type="button"
                class={`nav-entry${p.id === current ? " current" : ""}`}
                aria-current={p.id === current ? "page" : undefined}
                onClick={() => setCurrent(p.id)}
              >
                {p.title}
              </button>
            </li>
          ))}
        </ul>
      </nav>
      <main class="admin-page" aria-labelledby={`admin-${page.id}`}>
        <h2 id={`admin-${page.id}`} class="admin-title">
          {page.title}
        </h2>
        {warnings.length > 0 && (
          <section class="admin-warnings" aria-label="Warnings">
            <ul>
              {warnings.map((w) => (
                <li key={w}>{w}</li>
              ))}
            </ul>
          </section>
        )}
        {!isAdmin && <p class="muted small">You are a lead: you can change your teams' members and hours, and SLA policies.</p>}
        <page.Page me={me} isAdmin={isAdmin} />
      </main>
    </div>
  );
}
