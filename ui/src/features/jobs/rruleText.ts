import { describe, weekdayCodes, type Rule, type WeekdayCode } from "./rrule";

/** An RRULE from the API in words ("Every 2 weeks on Monday and Thursday, 10 times"); the rule itself if it is beyond the editor. */
export function describeRrule(rrule: string): string {
  const parts = new Map(rrule.split(";").map((p) => p.split("=") as [string, string]));
  const freq = parts.get("FREQ");
  if (freq !== "DAILY" && freq !== "WEEKLY" && freq !== "MONTHLY") return rrule;
  const byday = (parts.get("BYDAY") ?? "").split(",").filter(Boolean);
  const nth = /^(-?\d)([A-Z]{2})$/.exec(byday[0] ?? "");
  const until = parts.get("UNTIL");
  const rule: Rule = {
    freq,
    interval: Number(parts.get("INTERVAL") ?? "1"),
    days: byday.filter((d): d is WeekdayCode => (weekdayCodes as readonly string[]).includes(d)),
    monthly: nth ? "weekday" : "day",
    monthDay: Number(parts.get("BYMONTHDAY") ?? "1"),
    nth: nth ? Number(nth[1]) : 1,
    nthDay: (nth?.[2] as WeekdayCode) ?? "MO",
    end: parts.has("COUNT") ? "count" : until ? "until" : "never",
    count: Number(parts.get("COUNT") ?? "0"),
    until: until ? `${until.slice(0, 4)}-${until.slice(4, 6)}-${until.slice(6, 8)}` : "",
  };
  if (freq === "MONTHLY" && !parts.has("BYMONTHDAY") && !nth) return rrule;
  return describe(rule);
}
