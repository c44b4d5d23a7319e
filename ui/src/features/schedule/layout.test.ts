import { describe, expect, it } from "vitest";
import { zonedInstant } from "../../lib/zoned";
import { byLaneAndDay, dropRequest, monthDays, moved, movedAssignees, stack, UNASSIGNED, type Placed, type Visit } from "./layout";

const tz = "America/New_York";

function visit(id: string, starts: string | null, minutes = 60, assignees: string[] = []): Visit {
  return {
    id,
    job_id: "job",
    job_number: "1",
    title: "Spring clean",
    client_id: "c",
    client_name: "Quill",
    anytime: false,
    status: "scheduled",
    assignee_ids: assignees,
    checklist: [],
    time_entries: [],
    version: 3,
    updated_at: "2026-12-01T00:00:00Z",
    starts_at: starts,
    ends_at: starts ? new Date(Date.parse(starts) + minutes * 60_000).toISOString() : null,
  };
}

describe("schedule layout", () => {
  it("puts visits in their lanes and local days", () => {
    const cells = byLaneAndDay(
      [visit("a", "2026-12-01T14:00:00Z", 60, ["tom"]), visit("b", "2026-12-02T03:30:00Z", 60, ["tom", "ann"]), visit("c", "2026-12-01T13:00:00Z")],
      tz,
      "2026-11-30",
      7,
    );
    expect(cells.get("tom")?.[1]?.map((p) => p.visit.id)).toEqual(["a", "b"]); // 22:30 on the 1st in New York
    expect(cells.get("ann")?.[1]?.map((p) => p.visit.id)).toEqual(["b"]);
    expect(cells.get(UNASSIGNED)?.[1]?.map((p) => p.start)).toEqual([8 * 60]);
  });

  it("stacks overlapping visits into rows", () => {
    const p = (start: number, end: number): Placed => ({ visit: visit(String(start), null), date: "2026-12-01", start, end, anytime: false });
    const { items, rows } = stack([p(540, 600), p(570, 630), p(600, 660), p(630, 700)]);
    expect(rows).toBe(2);
    expect(items.map((i) => i.row)).toEqual([0, 1, 0, 1]);
  });

  it("turns a drag into a reschedule request", () => {
    const v = visit("a", "2026-12-01T14:00:00Z", 90, ["tom"]);
    // To Thursday, Ann's lane: same time, Ann instead of Tom.
    expect(dropRequest(v, "tom", { date: "2026-12-03", lane: "ann", minutes: null, anytime: false }, tz)).toEqual({
      start_date: "2026-12-03",
      start_time: "09:00",
      assignee_ids: ["ann"],
      version: 3,
    });
    // On a timeline at 13:15.
    expect(dropRequest(v, "tom", { date: "2026-12-01", lane: "tom", minutes: 795, anytime: false }, tz)?.start_time).toBe("13:15");
    // Where it was: nothing to do.
    expect(dropRequest(v, "tom", { date: "2026-12-01", lane: "tom", minutes: null, anytime: false }, tz)).toBeNull();
    // From the unscheduled list to Tom's Monday.
    expect(dropRequest(visit("u", null), null, { date: "2026-11-30", lane: "tom", minutes: null, anytime: false }, tz)).toEqual({
      start_date: "2026-11-30",
      start_time: "09:00",
      assignee_ids: ["tom"],
      version: 3,
    });
    expect(movedAssignees(["tom", "ann"], "tom", UNASSIGNED)).toEqual(["ann"]);
  });

  it("shows a move at once, keeping the visit's length", () => {
    const v = visit("a", "2026-12-01T14:00:00Z", 90, ["tom"]);
    const after = moved(v, { start_date: "2026-12-03", start_time: "10:00", assignee_ids: ["ann"] }, tz, zonedInstant);
    expect(after.starts_at).toBe("2026-12-03T15:00:00.000Z");
    expect(after.ends_at).toBe("2026-12-03T16:30:00.000Z");
    expect(after.assignee_ids).toEqual(["ann"]);
  });

  it("lays out a month in whole weeks", () => {
    const days = monthDays("2026-12-01", "2026-11-30");
    expect(days[0]).toBe("2026-11-30");
    expect(days).toHaveLength(35);
    expect(days[days.length - 1]).toBe("2027-01-03");
  });
});
