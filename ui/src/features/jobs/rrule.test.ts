import { describe as group, expect, it } from "vitest";
import { defaultRule, describe, occurrences, toRrule, type Rule } from "./rrule";

const rule = (over: Partial<Rule>): Rule => ({ ...defaultRule("2026-12-07"), ...over });

group("the recurrence editor's rule", () => {
  it("writes the RRULE the API takes and reads it out", () => {
    const r = rule({ freq: "WEEKLY", interval: 2, days: ["TH", "MO"], end: "count", count: 10 });
    expect(toRrule(r)).toBe("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;COUNT=10");
    expect(describe(r)).toBe("Every 2 weeks on Monday and Thursday, 10 times");
    expect(toRrule(rule({ freq: "MONTHLY", monthly: "weekday", nth: -1, nthDay: "FR", end: "until", until: "2027-06-30" }))).toBe(
      "FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20270630",
    );
    expect(describe(rule({ freq: "MONTHLY", monthly: "day", monthDay: 15, end: "never" }))).toBe("Every month on day 15");
    expect(toRrule(rule({ freq: "DAILY", end: "never" }))).toBe("FREQ=DAILY");
  });

  it("previews the next visits as the server expands them", () => {
    // Monday 7 December 2026, every 2 weeks on Monday and Thursday.
    expect(occurrences(rule({ interval: 2, days: ["MO", "TH"] }), "2026-12-07", 5)).toEqual([
      "2026-12-07",
      "2026-12-10",
      "2026-12-21",
      "2026-12-24",
      "2027-01-04",
    ]);
    // A first day that does not match the rule is not a visit.
    expect(occurrences(rule({ days: ["WE"] }), "2026-12-07", 2)).toEqual(["2026-12-09", "2026-12-16"]);
    expect(occurrences(rule({ end: "count", count: 3, freq: "DAILY", interval: 3 }), "2026-12-30", 10)).toEqual(["2026-12-30", "2027-01-02", "2027-01-05"]);
    // The 31st: months without one are skipped.
    expect(occurrences(rule({ freq: "MONTHLY", monthly: "day", monthDay: 31, end: "never" }), "2026-12-07", 3)).toEqual(["2026-12-31", "2027-01-31", "2027-03-31"]);
    expect(occurrences(rule({ freq: "MONTHLY", monthly: "weekday", nth: 2, nthDay: "TU", end: "until", until: "2027-02-28" }), "2026-12-07", 5)).toEqual([
      "2026-12-08",
      "2027-01-12",
      "2027-02-09",
    ]);
  });
});

group("occurrences while the interval is being typed", () => {
  it("shows nothing for an empty or zero interval instead of one day repeated", () => {
    expect(occurrences(rule({ interval: 0 }), "2026-12-07", 5)).toEqual([]);
    expect(occurrences(rule({ interval: 0, freq: "DAILY" }), "2026-12-07", 5)).toEqual([]);
    expect(occurrences(rule({ interval: 1, freq: "DAILY" }), "2026-12-07", 2)).toEqual(["2026-12-07", "2026-12-08"]);
  });
});
