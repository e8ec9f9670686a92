import { describe, expect, it } from "vitest";
import {
  auditChanges,
  fieldErrors,
  holidaysFromText,
  matches,
  minutesToSeconds,
  parseProblems,
  problemsByLine,
  weeklyFromText,
  weeklyToText,
} from "./forms";

describe("fieldErrors", () => {
  it("reads Litestar's extra entries", () => {
    const body = { status_code: 422, detail: "teams: no team named X", extra: [{ key: "teams", message: "no team named X" }] };
    expect(fieldErrors(body)).toEqual({ teams: "no team named X" });
  });
  it("ignores bodies without field entries", () => {
    expect(fieldErrors({ detail: "boom" })).toEqual({});
    expect(fieldErrors(null)).toEqual({});
    expect(fieldErrors({ extra: [{ message: "no key" }, "text"] })).toEqual({});
  });
});

describe("parseProblems", () => {
  it("splits the flow's line-numbered reasons and sorts them", () => {
    const problems = parseProblems("line 9: no node named 'x'; line 3: 'text' is required; it is");
    expect(problems).toEqual([
      { line: 3, message: "'text' is required; it is" },
      { line: 9, message: "no node named 'x'" },
    ]);
    expect(problemsByLine([...problems, { line: 3, message: "again" }]).get(3)).toEqual(["'text' is required; it is", "again"]);
  });
  it("finds nothing in text without line numbers", () => {
    expect(parseProblems("no such channel")).toEqual([]);
  });
});

describe("business hours text", () => {
  it("round-trips ranges and drops empty days", () => {
    const weekly = weeklyFromText({ mon: "09:00-12:00, 13:00-17:00", tue: "  ", sat: "10:00 - 14:00" });
    expect(weekly).toEqual({ mon: [["09:00", "12:00"], ["13:00", "17:00"]], sat: [["10:00", "14:00"]] });
    expect(weeklyToText(weekly)).toEqual({ mon: "09:00-12:00, 13:00-17:00", sat: "10:00-14:00" });
  });
  it("keeps a malformed piece for the API to name", () => {
    expect(weeklyFromText({ wed: "9am" })).toEqual({ wed: [["9am", ""]] });
  });
  it("reads holidays separated by commas or spaces", () => {
    expect(holidaysFromText("2026-12-25, 2027-01-01  2027-05-01")).toEqual(["2026-12-25", "2027-01-01", "2027-05-01"]);
  });
});

describe("small helpers", () => {
  it("matches case-insensitively in any text", () => {
    expect(matches("ali", "Alice", null)).toBe(true);
    expect(matches("", "x")).toBe(true);
    expect(matches("zed", "Alice", "alice@x")).toBe(false);
  });
  it("turns minutes into seconds", () => {
    expect(minutesToSeconds("5")).toBe(300);
    expect(minutesToSeconds(" ")).toBeNull();
    expect(Number.isNaN(minutesToSeconds("soon"))).toBe(true);
  });
});

describe("auditChanges", () => {
  it("lists only what changed, before → after", () => {
    expect(auditChanges({ title: "Hello", text: "x", updated_at: "1" }, { title: "Hi", text: "x", updated_at: "2" })).toEqual(["title: Hello → Hi"]);
  });
  it("shows a creation's values and a deletion's old ones", () => {
    expect(auditChanges(null, { members: [3, 4] })).toEqual(["members: [3,4]"]);
    expect(auditChanges({ state: "active" }, null)).toEqual(["state: active"]);
  });
  it("cuts long values", () => {
    expect(auditChanges(null, { text: "a".repeat(100) }, 10)).toEqual([`text: ${"a".repeat(9)}…`]);
  });
});
