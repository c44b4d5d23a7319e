import { describe, expect, it } from "vitest";
import { addDays, addMonths, daysBetween, hhmm, offsetMinutes, parseHhmm, startOfWeek, weekday, zonedInstant, zonedParts } from "./zoned";

describe("zoned calendar arithmetic", () => {
  it("reads an instant's local day and time", () => {
    expect(zonedParts("2026-12-03T14:30:00Z", "America/New_York")).toEqual({ date: "2026-12-03", minutes: 9 * 60 + 30 });
    expect(zonedParts("2026-12-03T03:00:00Z", "America/New_York")).toEqual({ date: "2026-12-02", minutes: 22 * 60 });
    expect(zonedParts("2026-12-03T23:30:00Z", "Asia/Kolkata")).toEqual({ date: "2026-12-04", minutes: 5 * 60 });
  });

  it("finds the instant of a local time, across DST", () => {
    expect(zonedInstant("2026-12-03", 9 * 60, "America/New_York").toISOString()).toBe("2026-12-03T14:00:00.000Z");
    expect(zonedInstant("2026-07-03", 9 * 60, "America/New_York").toISOString()).toBe("2026-07-03T13:00:00.000Z");
    // Local midnight on the day clocks go forward (8 March 2026 in New York).
    expect(zonedInstant("2026-03-08", 0, "America/New_York").toISOString()).toBe("2026-03-08T05:00:00.000Z");
    expect(zonedInstant("2026-03-09", 0, "America/New_York").toISOString()).toBe("2026-03-09T04:00:00.000Z");
    // 02:30 does not exist that day: it moves forward.
    expect(zonedInstant("2026-03-08", 150, "America/New_York").toISOString()).toBe("2026-03-08T07:30:00.000Z");
    expect(offsetMinutes(Date.parse("2026-12-03T12:00:00Z"), "Europe/Berlin")).toBe(60);
  });

  it("counts days, weeks and months", () => {
    expect(addDays("2026-12-30", 3)).toBe("2027-01-02");
    expect(weekday("2026-12-03")).toBe(4);
    expect(startOfWeek("2026-12-03")).toBe("2026-11-30");
    expect(startOfWeek("2026-11-30")).toBe("2026-11-30");
    expect(startOfWeek("2026-12-06")).toBe("2026-11-30");
    expect(addMonths("2026-12-15", 1)).toBe("2027-01-01");
    expect(daysBetween("2026-11-30", "2026-12-03")).toBe(3);
    expect(hhmm(570)).toBe("09:30");
    expect(parseHhmm("9:05")).toBe(545);
    expect(parseHhmm("25:00")).toBeNull();
  });
});
