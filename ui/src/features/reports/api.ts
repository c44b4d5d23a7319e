// Report queries (TanStack Query keys: ["reports", ...]; live events about invoices,
// payments and jobs make them stale) and the CSV exports.
import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import { addDays, addMonths, startOfMonth } from "../../lib/zoned";

export type Export = components["schemas"]["Export"];
export type ExportKind = components["schemas"]["ExportKind"];
export type Group = "day" | "week" | "month";

export interface Range {
  from: string;
  to: string;
  group: Group;
}

export type Preset = "this_month" | "last_month" | "last_3_months" | "this_year" | "last_12_months" | "custom";

export const presets: { value: Preset; label: string }[] = [
  { value: "this_month", label: "This month" },
  { value: "last_month", label: "Last month" },
  { value: "last_3_months", label: "Last 3 months" },
  { value: "this_year", label: "This year" },
  { value: "last_12_months", label: "Last 12 months" },
  { value: "custom", label: "Custom dates" },
];

/** The days of a preset, counted in the account's calendar (`today` is its local date). */
export function presetRange(preset: Exclude<Preset, "custom">, today: string): Range {
  const month = startOfMonth(today);
  switch (preset) {
    case "this_month":
      return { from: month, to: today, group: "day" };
    case "last_month":
      return { from: addMonths(month, -1), to: addDays(month, -1), group: "day" };
    case "last_3_months":
      return { from: addMonths(month, -2), to: today, group: "week" };
    case "this_year":
      return { from: `${today.slice(0, 4)}-01-01`, to: today, group: "month" };
    case "last_12_months":
      return { from: addMonths(month, -11), to: today, group: "month" };
  }
}

/** A grouping that gives a readable number of columns for a custom range. */
export function groupFor(from: string, to: string): Group {
  const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000;
  if (days <= 45) return "day";
  if (days <= 190) return "week";
  return "month";
}

export function useRevenue(range: Range) {
  return useQuery({
    queryKey: ["reports", "revenue", range],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/reports/revenue", { params: { query: range }, signal })),
    placeholderData: (previous) => previous,
  });
}

export function useJobsReport(range: Range) {
  return useQuery({
    queryKey: ["reports", "jobs", { from: range.from, to: range.to }],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/reports/jobs", { params: { query: { from: range.from, to: range.to } }, signal })),
    placeholderData: (previous) => previous,
  });
}

export function useAging() {
  return useQuery({
    queryKey: ["reports", "aging"],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/reports/aging", { signal })),
  });
}

export function useExports() {
  return useQuery({
    queryKey: ["reports", "exports"],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/reports/exports", { signal })),
  });
}

export function requestExport(kind: ExportKind, range: { from: string; to: string }) {
  return unwrap(
    api.POST("/api/v1/reports/exports", {
      body: kind === "clients" ? { kind } : { kind, from: range.from, to: range.to },
    }),
  );
}

export function getExport(id: string) {
  return unwrap(api.GET("/api/v1/reports/exports/{id}", { params: { path: { id } } }));
}
