// Schedule queries and the reschedule call (TanStack Query keys: ["schedule", …],
// the team under ["users", …]).
import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import { zonedInstant } from "../../lib/zoned";

export type Visit = components["schemas"]["Visit"];
export type VisitSchedule = components["schemas"]["VisitSchedule"];
export type Schedule = components["schemas"]["Schedule"];
export type User = components["schemas"]["User"];

export const scheduleKey = (from: string, to: string) => ["schedule", from, to] as const;

/** Visits on the days [from, to) (account's zone) and the unscheduled ones. */
export function useSchedule(from: string, to: string, timeZone: string) {
  return useQuery({
    queryKey: scheduleKey(from, to),
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/v1/schedule", {
          params: {
            query: {
              from: zonedInstant(from, 0, timeZone).toISOString(),
              to: zonedInstant(to, 0, timeZone).toISOString(),
            },
          },
          signal,
        }),
      ),
    placeholderData: (previous) => previous,
  });
}

/** The active team, by name (office staff only: technicians get an error). */
export function useTeam(enabled: boolean) {
  return useQuery({
    queryKey: ["users", "list"],
    enabled,
    staleTime: 5 * 60_000,
    queryFn: async ({ signal }) => {
      const users: User[] = [];
      let cursor: string | undefined;
      do {
        const page = await unwrap(api.GET("/api/v1/users", { params: { query: { limit: 200, cursor } }, signal }));
        users.push(...page.items);
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      return users.filter((u) => u.active).sort((a, b) => a.name.localeCompare(b.name));
    },
  });
}

export function reschedule(id: string, body: VisitSchedule) {
  return unwrap(api.PUT("/api/v1/schedule/jobs/{id}", { params: { path: { id } }, body }));
}
