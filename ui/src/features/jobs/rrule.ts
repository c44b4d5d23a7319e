// The recurring-job rule editor's model: what a person picks ("every 2 weeks on
// Monday and Thursday, 10 times"), the RFC 5545 RRULE the API takes
// (src/modules/schedule/recurrence.rs: DAILY, WEEKLY with weekdays, MONTHLY by day
// of month or by "the 2nd Tuesday"; INTERVAL; COUNT or UNTIL) and a sentence for it.
// The dates a rule gives are the server's to work out (POST /jobs/recurrence/preview):
// no copy of the expansion here.
import { weekday } from "../../lib/zoned";

export type Freq = "DAILY" | "WEEKLY" | "MONTHLY";
export const weekdayCodes = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"] as const;
export type WeekdayCode = (typeof weekdayCodes)[number];
export const weekdayNames: Record<WeekdayCode, string> = {
  MO: "Monday",
  TU: "Tuesday",
  WE: "Wednesday",
  TH: "Thursday",
  FR: "Friday",
  SA: "Saturday",
  SU: "Sunday",
};

export interface Rule {
  freq: Freq;
  interval: number;
  /** WEEKLY: the weekdays. */
  days: WeekdayCode[];
  /** MONTHLY: on a day of the month, or on the nth weekday (-1: the last). */
  monthly: "day" | "weekday";
  monthDay: number;
  nth: number;
  nthDay: WeekdayCode;
  end: "never" | "count" | "until";
  count: number;
  until: string;
}

/** The code of a date's weekday (MO…SU). */
export function codeOf(date: string): WeekdayCode {
  return weekdayCodes[(weekday(date) + 6) % 7]!;
}

export function defaultRule(start: string): Rule {
  const day = Number(start.slice(8, 10)) || 1;
  return {
    freq: "WEEKLY",
    interval: 1,
    days: [codeOf(start)],
    monthly: "day",
    monthDay: day,
    nth: Math.min(4, Math.ceil(day / 7)),
    nthDay: codeOf(start),
    end: "count",
    count: 10,
    until: "",
  };
}

export function toRrule(rule: Rule): string {
  const parts = [`FREQ=${rule.freq}`];
  if (rule.interval > 1) parts.push(`INTERVAL=${rule.interval}`);
  if (rule.freq === "WEEKLY" && rule.days.length > 0) {
    parts.push(`BYDAY=${weekdayCodes.filter((d) => rule.days.includes(d)).join(",")}`);
  }
  if (rule.freq === "MONTHLY") {
    if (rule.monthly === "day") parts.push(`BYMONTHDAY=${rule.monthDay}`);
    else parts.push(`BYDAY=${rule.nth}${rule.nthDay}`);
  }
  if (rule.end === "count") parts.push(`COUNT=${rule.count}`);
  if (rule.end === "until" && rule.until) parts.push(`UNTIL=${rule.until.replace(/-/g, "")}`);
  return parts.join(";");
}

const ordinals: Record<string, string> = { "1": "first", "2": "second", "3": "third", "4": "fourth", "-1": "last" };

function list(words: string[]): string {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
}

/** "Every 2 weeks on Monday and Thursday, 10 times". */
export function describe(rule: Rule, formatDay: (d: string) => string = (d) => d): string {
  const unit = { DAILY: "day", WEEKLY: "week", MONTHLY: "month" }[rule.freq];
  let text = rule.interval > 1 ? `Every ${rule.interval} ${unit}s` : `Every ${unit}`;
  if (rule.freq === "WEEKLY" && rule.days.length > 0) {
    text += ` on ${list(weekdayCodes.filter((d) => rule.days.includes(d)).map((d) => weekdayNames[d]))}`;
  }
  if (rule.freq === "MONTHLY") {
    text += rule.monthly === "day" ? ` on day ${rule.monthDay}` : ` on the ${ordinals[String(rule.nth)]} ${weekdayNames[rule.nthDay]}`;
  }
  if (rule.end === "count") text += `, ${rule.count} ${rule.count === 1 ? "time" : "times"}`;
  if (rule.end === "until" && rule.until) text += `, until ${formatDay(rule.until)}`;
  return text;
}

/** Problems with a rule, by field, before the server is asked. */
export function check(rule: Rule): Partial<Record<"interval" | "days" | "count" | "until" | "monthDay", string>> {
  const errors: Partial<Record<"interval" | "days" | "count" | "until" | "monthDay", string>> = {};
  if (!Number.isInteger(rule.interval) || rule.interval < 1 || rule.interval > 999) errors.interval = "A whole number from 1 to 999.";
  if (rule.freq === "WEEKLY" && rule.days.length === 0) errors.days = "Pick at least one day.";
  if (rule.freq === "MONTHLY" && rule.monthly === "day" && !(rule.monthDay >= 1 && rule.monthDay <= 31)) errors.monthDay = "A day from 1 to 31.";
  if (rule.end === "count" && !(Number.isInteger(rule.count) && rule.count >= 1 && rule.count <= 10_000)) errors.count = "A number of visits from 1 to 10,000.";
  if (rule.end === "until" && !/^\d{4}-\d{2}-\d{2}$/.test(rule.until)) errors.until = "Choose the last day.";
  return errors;
}
