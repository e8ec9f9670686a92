// Pure helpers of the admin console: the API's field errors, flow problems by line, business
// hours between the form and the API. No DOM here, so vitest checks them directly.

/** Field → reason from an API error body: Litestar's `extra` entries (`{key, message}`) and
 *  our services' `detail` of the form "field: reason". */
export function fieldErrors(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!body || typeof body !== "object") return out;
  const extra = (body as { extra?: unknown }).extra;
  if (Array.isArray(extra)) {
    for (const entry of extra) {
      if (entry && typeof entry === "object") {
        const { key, message } = entry as { key?: unknown; message?: unknown };
        if (typeof key === "string" && key && typeof message === "string") out[key] = message;
      }
    }
  }
  return out;
}

export interface Problem {
  line: number;
  message: string;
}

/** "line 3: reason; line 9: other" (the flow validation's text) → problems in line order. */
export function parseProblems(detail: string): Problem[] {
  const problems: Problem[] = [];
  for (const part of detail.split(/;\s*(?=line \d+:)/)) {
    const match = /^line (\d+):\s*(.*)$/s.exec(part.trim());
    if (match) problems.push({ line: Number(match[1]), message: match[2] });
  }
  return problems.sort((a, b) => a.line - b.line);
}

/** Problems grouped by line, for showing each beside its line of the editor. */
export function problemsByLine(problems: Problem[]): Map<number, string[]> {
  const byLine = new Map<number, string[]>();
  for (const p of problems) byLine.set(p.line, [...(byLine.get(p.line) ?? []), p.message]);
  return byLine;
}

export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Day = (typeof DAYS)[number];
export const DAY_NAMES: Record<Day, string> = {
  mon: "Monday", tue: "Tuesday", wed: "Wednesday", thu: "Thursday", fri: "Friday",
  sat: "Saturday", sun: "Sunday",
};

export interface HoursJson {
  timezone: string;
  weekly: Partial<Record<Day, [string, string][]>>;
  holidays: string[];
}

/** The form's text per day ("09:00-12:00, 13:00-17:00") → the API's weekly ranges. Empty days
 *  are left out; a piece that is not "HH:MM-HH:MM" is kept as given so the API names the day. */
export function weeklyFromText(text: Partial<Record<Day, string>>): HoursJson["weekly"] {
  const weekly: HoursJson["weekly"] = {};
  for (const day of DAYS) {
    const raw = (text[day] ?? "").trim();
    if (!raw) continue;
    weekly[day] = raw.split(",").map((piece) => {
      const [open, close] = piece.split("-").map((s) => s.trim());
      return [open ?? "", close ?? ""] as [string, string];
    });
  }
  return weekly;
}

export function weeklyToText(weekly: HoursJson["weekly"]): Partial<Record<Day, string>> {
  const text: Partial<Record<Day, string>> = {};
  for (const day of DAYS) {
    const ranges = weekly[day];
    if (ranges && ranges.length) text[day] = ranges.map(([a, b]) => `${a}-${b}`).join(", ");
  }
  return text;
}

/** "2026-12-25, 2027-01-01" → ISO dates (blank pieces dropped). */
export function holidaysFromText(text: string): string[] {
  return text.split(/[,\s]+/).map((s) => s.trim()).filter(Boolean);
}

/** Case-insensitive match of a search box against some of an item's texts. */
export function matches(query: string, ...texts: (string | null | undefined)[]): boolean {
  const q = query.trim().toLowerCase();
  return !q || texts.some((t) => (t ?? "").toLowerCase().includes(q));
}

/** Seconds ↔ minutes for SLA targets, where the form speaks minutes. */
export function minutesToSeconds(value: string): number | null {
  const trimmed = value.trim();
  if (!trimmed) return null;
  const minutes = Number(trimmed);
  return Number.isFinite(minutes) ? Math.round(minutes * 60) : NaN;
}

/** What an audit entry changed, one line per field: "title: Hello → Hi". A creation lists the
 *  new values, a deletion the old ones; long values are cut at `max` characters. */
export function auditChanges(
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
  max = 60,
): string[] {
  const shown = (value: unknown) => {
    const text = value === undefined ? "—" : typeof value === "string" ? value : JSON.stringify(value);
    return text.length > max ? `${text.slice(0, max - 1)}…` : text;
  };
  const keys = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])].filter((k) => k !== "updated_at");
  const lines: string[] = [];
  for (const key of keys) {
    const was = before?.[key];
    const now = after?.[key];
    if (before && after) {
      if (JSON.stringify(was) !== JSON.stringify(now)) lines.push(`${key}: ${shown(was)} → ${shown(now)}`);
    } else lines.push(`${key}: ${shown(after ? now : was)}`);
  }
  return lines;
}
