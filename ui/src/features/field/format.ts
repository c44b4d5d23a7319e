// How the field app shows times: in the account's zone, short, for a phone.
import { formatMinutes } from "../../lib/format";
import { zonedParts } from "../../lib/zoned";
import type { Visit } from "./changes";

export function timeOf(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit", timeZone }).format(new Date(iso));
}

/** "8:00 – 10:00 AM", or "Any time" for an anytime visit. */
export function arrivalWindow(visit: Pick<Visit, "starts_at" | "ends_at" | "anytime">, timeZone: string): string {
  if (!visit.starts_at) return "Not scheduled";
  if (visit.anytime) return "Any time";
  const start = new Date(visit.starts_at);
  if (!visit.ends_at) return timeOf(visit.starts_at, timeZone);
  const format = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit", timeZone });
  return format.formatRange(start, new Date(visit.ends_at));
}

export function dayOf(iso: string, timeZone: string): string {
  return zonedParts(iso, timeZone).date;
}

/** "Today", "Tomorrow", else "Monday, 7 December". */
export function dayTitle(date: string, todayDate: string, tomorrow: string): string {
  if (date === todayDate) return "Today";
  if (date === tomorrow) return "Tomorrow";
  const [y = 1970, m = 1, d = 1] = date.split("-").map(Number);
  return new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long", timeZone: "UTC" }).format(new Date(Date.UTC(y, m - 1, d, 12)));
}

/** Minutes as "1 h 05 min" (the office writes them the same way). */
export const duration = formatMinutes;

export function statusLabel(status: Visit["status"]): string {
  return { scheduled: "Scheduled", in_progress: "In progress", completed: "Completed", cancelled: "Cancelled" }[status];
}
