// Job queries and mutations (TanStack Query keys: ["jobs", …]; the job's client and
// properties under ["clients", …], the team under ["users", …]).
import { keepPreviousData, useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";

export type Job = components["schemas"]["Job"];
export type JobInput = components["schemas"]["JobInput"];
export type JobUpdate = components["schemas"]["JobUpdate"];
export type JobStatus = components["schemas"]["JobStatus"];
export type Visit = components["schemas"]["Visit"];
export type User = components["schemas"]["User"];
export type Address = components["schemas"]["Address"];
export type RecurrencePreviewInput = components["schemas"]["RecurrencePreviewInput"];
export type RecurrencePreview = components["schemas"]["RecurrencePreview"];

export const jobStatuses: { value: JobStatus; label: string }[] = [
  { value: "active", label: "Active" },
  { value: "completed", label: "Completed" },
  { value: "cancelled", label: "Cancelled" },
];

const PAGE = 50;

/** Jobs page by page (the API's keyset cursor), newest first. */
export function useJobPages(status: JobStatus | "", q = "") {
  return useInfiniteQuery({
    queryKey: ["jobs", "list", { status, q }],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam, signal }) =>
      unwrap(api.GET("/api/v1/jobs", { params: { query: { limit: PAGE, cursor: pageParam, status: status || undefined, q: q || undefined } }, signal })),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    placeholderData: (previous) => previous,
  });
}

export function useJob(id: string) {
  return useQuery({
    queryKey: ["jobs", id],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/jobs/{id}", { params: { path: { id } }, signal })),
  });
}

export function useClient(id: string | undefined) {
  return useQuery({
    queryKey: ["clients", id],
    enabled: Boolean(id),
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/clients/{id}", { params: { path: { id: id! } }, signal })),
  });
}

export function useProperties(clientId: string | undefined) {
  return useQuery({
    queryKey: ["clients", clientId, "properties"],
    enabled: Boolean(clientId),
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/clients/{id}/properties", { params: { path: { id: clientId! }, query: { limit: 100 } }, signal })),
  });
}

export function useClientSearch(q: string) {
  return useQuery({
    queryKey: ["clients", "list", { q, status: "", tag: "", pick: true }],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/clients", { params: { query: { q: q || undefined, limit: 20 } }, signal })),
    placeholderData: (previous) => previous,
  });
}

/** The active team, by name. */
export function useTeam() {
  return useQuery({
    queryKey: ["users", "list"],
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

export function createJob(input: JobInput) {
  return unwrap(api.POST("/api/v1/jobs", { body: input }));
}

/** The job as saved now, read past the query cache (a stale edit compares with it). */
export function fetchJob(id: string): Promise<Job> {
  return unwrap(api.GET("/api/v1/jobs/{id}", { params: { path: { id } } }));
}

export function updateJob(id: string, input: JobUpdate) {
  return unwrap(api.PUT("/api/v1/jobs/{id}", { params: { path: { id } }, body: input }));
}

export function completeJob(id: string, version: number, completeOpenVisits: boolean) {
  return unwrap(api.POST("/api/v1/jobs/{id}/complete", { params: { path: { id } }, body: { version, complete_open_visits: completeOpenVisits } }));
}

/** Complete one visit (the technician's clock stops); completing twice is harmless. */
export function completeVisit(id: string) {
  return unwrap(api.POST("/api/v1/visits/{id}/complete", { params: { path: { id } }, body: {} }));
}

export function cancelJob(id: string, version: number) {
  return unwrap(api.POST("/api/v1/jobs/{id}/cancel", { params: { path: { id } }, body: { version } }));
}

export function addressLine(address: Address | undefined | null): string {
  if (!address) return "";
  return [address.street1, address.street2, [address.city, address.region, address.postal_code].filter(Boolean).join(", "), address.country]
    .filter(Boolean)
    .join(", ");
}

export type Attachment = components["schemas"]["Attachment"];

/** A job's photos and files (each with a download address valid 15 minutes). */
export function useJobAttachments(jobId: string) {
  return useQuery({
    queryKey: ["jobs", jobId, "attachments"],
    staleTime: 5 * 60_000,
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/jobs/{id}/attachments", { params: { path: { id: jobId } }, signal })),
  });
}

/** The client's signature a technician collected at a visit (the field app files it with `kind: "signature"`). */
export function visitSignature(attachments: Attachment[] | undefined, visitId: string): Attachment | undefined {
  return attachments
    ?.filter((a) => a.visit_id === visitId && a.kind === "signature")
    .at(-1);
}

/** The next visits of a recurring schedule, expanded by the server (the code that
 * creates them, in the account's time zone): no date arithmetic here. */
export function useRecurrencePreview(input: RecurrencePreviewInput | null) {
  return useQuery({
    queryKey: ["jobs", "recurrence-preview", input],
    enabled: input !== null,
    queryFn: ({ signal }) => unwrap(api.POST("/api/v1/jobs/recurrence/preview", { body: input!, signal })),
    placeholderData: keepPreviousData,
    retry: false,
    staleTime: 60_000,
  });
}

export type JobNote = components["schemas"]["JobNote"];

/** The office's notes on a job, oldest first. */
export function useJobNotes(jobId: string) {
  return useQuery({
    queryKey: ["jobs", jobId, "notes"],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/jobs/{id}/notes", { params: { path: { id: jobId } }, signal })),
  });
}

export function addJobNote(jobId: string, body: string) {
  return unwrap(api.POST("/api/v1/jobs/{id}/notes", { params: { path: { id: jobId } }, body: { body } }));
}

export function editJobNote(jobId: string, noteId: string, body: string) {
  return unwrap(api.PUT("/api/v1/jobs/{id}/notes/{note_id}", { params: { path: { id: jobId, note_id: noteId } }, body: { body } }));
}

export function deleteJobNote(jobId: string, noteId: string) {
  return unwrap(api.DELETE("/api/v1/jobs/{id}/notes/{note_id}", { params: { path: { id: jobId, note_id: noteId } } }));
}
