import { describe as group, expect, it } from "vitest";
import { defaultRule, describe, toRrule, type Rule } from "./rrule";

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
});
