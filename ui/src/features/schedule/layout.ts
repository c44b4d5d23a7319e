// Where visits go on the grid: pure functions of the schedule, the team and the
// account's time zone, so the screen only draws what they return.
import type { components } from "../../api/schema";
import { addDays, daysBetween, zonedParts } from "../../lib/zoned";

export type Visit = components["schemas"]["Visit"];

/** The lane of visits nobody is assigned to. */
export const UNASSIGNED = "unassigned";

export interface Lane {
  id: string;
  name: string;
}

/** A visit placed on a day, in the zone: its start and length in minutes. */
export interface Placed {
  visit: Visit;
  date: string;
  start: number;
  end: number;
  anytime: boolean;
}

export function place(visit: Visit, timeZone: string): Placed | null {
  if (!visit.starts_at) return null;
  const start = zonedParts(visit.starts_at, timeZone);
  if (visit.anytime) return { visit, date: start.date, start: 0, end: 0, anytime: true };
  const ends = visit.ends_at ? Date.parse(visit.ends_at) : Date.parse(visit.starts_at) + 3_600_000;
  const length = Math.max(15, Math.round((ends - Date.parse(visit.starts_at)) / 60_000));
  return { visit, date: start.date, start: start.minutes, end: start.minutes + length, anytime: false };
}

export function durationMinutes(visit: Visit): number | null {
  if (!visit.starts_at || !visit.ends_at || visit.anytime) return null;
  return Math.max(1, Math.round((Date.parse(visit.ends_at) - Date.parse(visit.starts_at)) / 60_000));
}

/** The lanes: nobody, the team (active members by name), then anyone else assigned. */
export function lanesFor(team: Lane[], visits: Visit[]): Lane[] {
  const known = new Set(team.map((l) => l.id));
  const extra: Lane[] = [];
  for (const v of visits) {
    for (const id of v.assignee_ids) {
      if (!known.has(id)) {
        known.add(id);
        extra.push({ id, name: "Former team member" });
      }
    }
  }
  return [{ id: UNASSIGNED, name: "Unassigned" }, ...team, ...extra];
}

const laneIds = (visit: Visit) => (visit.assignee_ids.length > 0 ? visit.assignee_ids : [UNASSIGNED]);

/**
 * Visits by lane and day index (0 = the first day shown), each cell in start order
 * (anytime first). A visit with two assignees is in both their lanes.
 */
export function byLaneAndDay(visits: Visit[], timeZone: string, first: string, days: number): Map<string, Placed[][]> {
  const out = new Map<string, Placed[][]>();
  for (const visit of visits) {
    const placed = place(visit, timeZone);
    if (!placed) continue;
    const day = daysBetween(first, placed.date);
    if (day < 0 || day >= days) continue;
    for (const lane of laneIds(visit)) {
      let row = out.get(lane);
      if (!row) {
        row = Array.from({ length: days }, () => []);
        out.set(lane, row);
      }
      row[day]!.push(placed);
    }
  }
  for (const row of out.values()) for (const cell of row) cell.sort(byStart);
  return out;
}

function byStart(a: Placed, b: Placed): number {
  if (a.anytime !== b.anytime) return a.anytime ? -1 : 1;
  return a.start - b.start || a.end - b.end || a.visit.job_number.localeCompare(b.visit.job_number);
}

/** A timed visit and the sub-row it takes so it overlaps nothing in its lane. */
export interface Stacked extends Placed {
  row: number;
}

/** Overlapping visits of one lane and day side by side: greedy interval colouring. */
export function stack(placed: Placed[]): { items: Stacked[]; rows: number } {
  const ends: number[] = [];
  const items: Stacked[] = [];
  for (const p of [...placed].filter((x) => !x.anytime).sort(byStart)) {
    let row = ends.findIndex((end) => end <= p.start);
    if (row < 0) {
      row = ends.length;
      ends.push(p.end);
    } else ends[row] = p.end;
    items.push({ ...p, row });
  }
  return { items, rows: Math.max(1, ends.length) };
}

/** The hours a day view shows: 7:00 to 19:00, stretched to what is booked. */
export function dayHours(placed: Placed[]): { from: number; to: number } {
  let from = 7;
  let to = 19;
  for (const p of placed) {
    if (p.anytime) continue;
    from = Math.min(from, Math.floor(p.start / 60));
    to = Math.max(to, Math.min(24, Math.ceil(p.end / 60)));
  }
  return { from, to };
}

/** The days of a month grid: whole weeks (Monday first) around the month. */
export function monthDays(monthStart: string, weekStart: string): string[] {
  const days: string[] = [];
  const month = monthStart.slice(0, 7);
  for (let day = weekStart; days.length < 42; day = addDays(day, 1)) {
    if (days.length % 7 === 0 && days.length >= 28 && day.slice(0, 7) !== month) break;
    days.push(day);
  }
  return days;
}

/** The assignees after dragging a visit from one lane to another. */
export function movedAssignees(current: string[], from: string, to: string): string[] {
  if (from === to) return current;
  const rest = current.filter((id) => id !== from && id !== to);
  return to === UNASSIGNED ? rest : [...rest, to];
}

/** Where a drop asks a visit to go. */
export interface Drop {
  date: string;
  lane: string | null;
  minutes: number | null;
  anytime: boolean;
}

/**
 * The reschedule request of a drag, or null when the visit lands where it was. A
 * drop on a day keeps the visit's time (09:00 for one that had none); a drop on a
 * timeline sets the time; on "anytime", clears it. The length is kept (omitted).
 */
export function dropRequest(visit: Visit, fromLane: string | null, drop: Drop, timeZone: string) {
  const placed = place(visit, timeZone);
  let minutes: number | null;
  if (drop.anytime) minutes = null;
  else if (drop.minutes !== null) minutes = drop.minutes;
  else if (placed) minutes = placed.anytime ? null : placed.start;
  else minutes = 9 * 60;
  let assignees: string[] | undefined;
  if (drop.lane !== null) {
    assignees = fromLane === null ? (drop.lane === UNASSIGNED ? [] : [drop.lane]) : movedAssignees(visit.assignee_ids, fromLane, drop.lane);
  }
  const sameAssignees = !assignees || (assignees.length === visit.assignee_ids.length && assignees.every((a) => visit.assignee_ids.includes(a)));
  const sameTime = placed !== null && placed.date === drop.date && (placed.anytime ? minutes === null : minutes === placed.start);
  if (sameTime && sameAssignees) return null;
  return {
    start_date: drop.date,
    start_time: minutes === null ? null : hhmmOf(minutes),
    ...(assignees ? { assignee_ids: assignees } : {}),
    version: visit.version,
  };
}

function hhmmOf(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}

/** The visit as the server will have it after a move: shown at once, then refetched. */
export function moved(
  visit: Visit,
  request: { start_date?: string | null; start_time?: string | null; duration_minutes?: number | null; assignee_ids?: string[] | null },
  timeZone: string,
  instant: (date: string, minutes: number, timeZone: string) => Date,
): Visit {
  const assignee_ids = request.assignee_ids ?? visit.assignee_ids;
  if (!request.start_date) return { ...visit, starts_at: null, ends_at: null, anytime: false, assignee_ids };
  const [h = 0, m = 0] = (request.start_time ?? "00:00").split(":").map(Number);
  const starts = instant(request.start_date, h * 60 + m, timeZone);
  const length = request.duration_minutes ?? durationMinutes(visit) ?? 60;
  const anytime = !request.start_time;
  const ends = anytime ? instant(request.start_date, 24 * 60, timeZone) : new Date(starts.getTime() + length * 60_000);
  return { ...visit, starts_at: starts.toISOString(), ends_at: ends.toISOString(), anytime, assignee_ids };
}
