// Calendar arithmetic in the account's time zone, without a date library. A day is
// an ISO date string (`2026-12-03`); a time of day is minutes after local midnight.
// Instants go to and from the zone with Intl (the browser's tz database), so days
// of 23 or 25 hours (DST) come out right.

const partFormats = new Map<string, Intl.DateTimeFormat>();

function partFormat(timeZone: string): Intl.DateTimeFormat {
  let format = partFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    partFormats.set(timeZone, format);
  }
  return format;
}

function parts(ms: number, timeZone: string) {
  const out: Record<string, number> = {};
  for (const p of partFormat(timeZone).formatToParts(new Date(ms))) {
    if (p.type !== "literal") out[p.type] = Number(p.value);
  }
  return { y: out.year ?? 1970, m: out.month ?? 1, d: out.day ?? 1, h: (out.hour ?? 0) % 24, min: out.minute ?? 0, s: out.second ?? 0 };
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** The local day and minutes after midnight of an instant in a zone. */
export function zonedParts(instant: string | Date, timeZone: string): { date: string; minutes: number } {
  const ms = typeof instant === "string" ? Date.parse(instant) : instant.getTime();
  const p = parts(ms, timeZone);
  return { date: `${pad(p.y, 4)}-${pad(p.m)}-${pad(p.d)}`, minutes: p.h * 60 + p.min };
}

/** The zone's offset from UTC at an instant, in minutes (New York in winter: -300). */
export function offsetMinutes(ms: number, timeZone: string): number {
  const p = parts(ms, timeZone);
  const asUtc = Date.UTC(p.y, p.m - 1, p.d, p.h, p.min, p.s);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60_000);
}

/** The instant of a local wall-clock time (a time in a DST gap moves forward). */
export function zonedInstant(date: string, minutes: number, timeZone: string): Date {
  const [y = 1970, m = 1, d = 1] = date.split("-").map(Number);
  const wall = Date.UTC(y, m - 1, d) + minutes * 60_000;
  const first = offsetMinutes(wall, timeZone);
  let ms = wall - first * 60_000;
  const second = offsetMinutes(ms, timeZone);
  if (second !== first) {
    const retry = wall - second * 60_000;
    // In a gap neither guess maps back to the wall time: keep the later instant.
    ms = offsetMinutes(retry, timeZone) === second ? retry : Math.max(ms, retry);
  }
  return new Date(ms);
}

export function addDays(date: string, days: number): string {
  const [y = 1970, m = 1, d = 1] = date.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** 0 = Sunday … 6 = Saturday. */
export function weekday(date: string): number {
  const [y = 1970, m = 1, d = 1] = date.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d)).getUTCDay();
}

/** The Monday on or before a day. */
export function startOfWeek(date: string): string {
  return addDays(date, -((weekday(date) + 6) % 7));
}

export function startOfMonth(date: string): string {
  return `${date.slice(0, 7)}-01`;
}

export function addMonths(date: string, months: number): string {
  const [y = 1970, m = 1] = date.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1 + months, 1)).toISOString().slice(0, 10);
}

/** Whole days from `a` to `b`. */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
}

export function today(timeZone: string): string {
  return zonedParts(new Date(), timeZone).date;
}

/** `540` -> `"09:00"`. */
export function hhmm(minutes: number): string {
  const m = ((Math.round(minutes) % 1440) + 1440) % 1440;
  return `${pad(Math.floor(m / 60))}:${pad(m % 60)}`;
}

/** `"09:30"` -> `570`; null when not a time. */
export function parseHhmm(text: string): number | null {
  const match = /^(\d{1,2}):(\d{2})/.exec(text.trim());
  if (!match) return null;
  const h = Number(match[1]);
  const m = Number(match[2]);
  return h < 24 && m < 60 ? h * 60 + m : null;
}

export function isIsoDate(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(`${text}T00:00:00Z`));
}
