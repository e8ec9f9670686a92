import { describe, expect, it } from "vitest";
import { mentionQuery, mentionedIds } from "./components/Composer";
import { snoozeChoices } from "./components/SnoozeMenu";
import { commandFor, step } from "./shortcuts";

describe("keyboard shortcuts", () => {
  it("maps keys to commands, never while typing or with modifiers", () => {
    expect(commandFor({ key: "j" })).toBe("next");
    expect(commandFor({ key: "?" })).toBe("help");
    expect(commandFor({ key: "j", ctrlKey: true })).toBeNull();
    expect(commandFor({ key: "e", target: { tagName: "TEXTAREA" } as unknown as EventTarget })).toBeNull();
    expect(commandFor({ key: "x" })).toBeNull();
  });
  it("steps through the list and stops at its ends", () => {
    expect(step(["a", "b", "c"], null, 1)).toBe("a");
    expect(step(["a", "b", "c"], null, -1)).toBe("c");
    expect(step(["a", "b", "c"], "b", 1)).toBe("c");
    expect(step(["a", "b", "c"], "c", 1)).toBe("c");
    expect(step(["a", "b", "c"], "a", -1)).toBe("a");
    expect(step([], null, 1)).toBeNull();
  });
});

describe("@ mentions", () => {
  it("finds the word being typed after @", () => {
    expect(mentionQuery("hi @Ra", 6)).toEqual({ start: 3, query: "Ra" });
    expect(mentionQuery("@", 1)).toEqual({ start: 0, query: "" });
    expect(mentionQuery("mail@example", 12)).toBeNull();
    expect(mentionQuery("hi @Ra and", 10)).toBeNull();
  });
  it("keeps only the mentions still in the text", () => {
    const chosen = new Map([
      ["1", { id: 1, name: "Ravi Menon" }],
      ["2", { id: 2, name: "Olga" }],
    ]);
    expect(mentionedIds("@Ravi Menon please check", chosen)).toEqual([1]);
  });
});

describe("snooze choices", () => {
  it("offers an hour, tomorrow 9:00 and next Monday 9:00 in local time", () => {
    const wednesday = new Date(2026, 11, 2, 15, 30); // Wed 2 Dec 2026, 15:30 local
    const [hour, tomorrow, nextWeek] = snoozeChoices(wednesday);
    expect(hour.until.getTime() - wednesday.getTime()).toBe(3_600_000);
    expect([tomorrow.until.getDate(), tomorrow.until.getHours(), tomorrow.until.getMinutes()]).toEqual([3, 9, 0]);
    expect([nextWeek.until.getDay(), nextWeek.until.getDate(), nextWeek.until.getHours()]).toEqual([1, 7, 9]);
    const monday = new Date(2026, 11, 7, 8, 0);
    expect(snoozeChoices(monday)[2].until.getDate()).toBe(14);
  });
});
