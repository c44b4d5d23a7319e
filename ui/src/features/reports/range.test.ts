import { describe, expect, it } from "vitest";
import { groupFor, presetRange } from "./api";

describe("report date ranges (local calendar days of the account)", () => {
  it("are counted from the account's today", () => {
    expect(presetRange("this_month", "2026-03-15")).toEqual({ from: "2026-03-01", to: "2026-03-15", group: "day" });
    expect(presetRange("last_month", "2026-03-15")).toEqual({ from: "2026-02-01", to: "2026-02-28", group: "day" });
    expect(presetRange("last_month", "2026-01-02")).toEqual({ from: "2025-12-01", to: "2025-12-31", group: "day" });
    expect(presetRange("last_3_months", "2026-03-15")).toEqual({ from: "2026-01-01", to: "2026-03-15", group: "week" });
    expect(presetRange("this_year", "2026-03-15")).toEqual({ from: "2026-01-01", to: "2026-03-15", group: "month" });
    expect(presetRange("last_12_months", "2026-03-15")).toEqual({ from: "2025-04-01", to: "2026-03-15", group: "month" });
  });
  it("group a custom range into a readable number of columns", () => {
    expect(groupFor("2026-03-01", "2026-03-31")).toBe("day");
    expect(groupFor("2026-01-01", "2026-05-31")).toBe("week");
    expect(groupFor("2025-01-01", "2026-03-31")).toBe("month");
  });
});
