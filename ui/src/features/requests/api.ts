// Work request queries and mutations (TanStack Query keys: ["requests", …]), and the
// public form's calls (no session: ["public-form", slug]).
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";

export type WorkRequest = components["schemas"]["WorkRequest"];
export type RequestStatus = components["schemas"]["RequestStatus"];
export type PublicForm = components["schemas"]["PublicForm"];
export type RequestInput = components["schemas"]["RequestInput"];
export type BookingInput = components["schemas"]["BookingInput"];
export type BookingSlot = components["schemas"]["FreeSlot"];
export type ConvertTarget = components["schemas"]["ConvertTarget"];

export const requestStatuses: { value: RequestStatus; label: string }[] = [
  { value: "new", label: "New" },
  { value: "converted", label: "Converted" },
  { value: "archived", label: "Archived" },
];

const PAGE = 50;

/** Requests page by page (the API's keyset cursor), newest first. */
export function useRequestPages(status: RequestStatus | "") {
  return useInfiniteQuery({
    queryKey: ["requests", "list", { status }],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam, signal }) =>
      unwrap(api.GET("/api/v1/requests", { params: { query: { limit: PAGE, cursor: pageParam, status: status || undefined } }, signal })),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    placeholderData: (previous) => previous,
  });
}

export function useRequest(id: string) {
  return useQuery({
    queryKey: ["requests", id],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/requests/{id}", { params: { path: { id } }, signal })),
  });
}

export function useConvert(id: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (to: ConvertTarget) => unwrap(api.POST("/api/v1/requests/{id}/convert", { params: { path: { id } }, body: { to } })),
    onSuccess: (request) => {
      queryClient.setQueryData(["requests", id], request);
      void queryClient.invalidateQueries({ queryKey: ["requests", "list"] });
      void queryClient.invalidateQueries({ queryKey: ["clients"] });
    },
  });
}

export function useArchive(id: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/requests/{id}/archive", { params: { path: { id } } })),
    onSuccess: (request) => {
      queryClient.setQueryData(["requests", id], request);
      void queryClient.invalidateQueries({ queryKey: ["requests", "list"] });
    },
  });
}

export function usePublicForm(slug: string) {
  return useQuery({
    queryKey: ["public-form", slug],
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/public/{account}/request-form", { params: { path: { account: slug } }, signal })),
  });
}

export function sendRequest(slug: string, body: RequestInput) {
  return unwrap(api.POST("/api/v1/public/{account}/requests", { params: { path: { account: slug } }, body }));
}

export function useSlots(slug: string, service: string | undefined) {
  return useQuery({
    queryKey: ["public-form", slug, "slots", service],
    enabled: Boolean(service),
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/v1/public/{account}/booking/slots", {
          params: { path: { account: slug }, query: { service: service! } },
          signal,
        }),
      ),
  });
}

/** Book a slot; a slot taken meanwhile throws `TakenError` with the free slots now. */
export class TakenError extends Error {
  constructor(readonly slots: BookingSlot[]) {
    super("That time was just taken. Please pick another.");
  }
}

export async function book(slug: string, body: BookingInput) {
  const result = await api.POST("/api/v1/public/{account}/bookings", { params: { path: { account: slug } }, body });
  if (result.response.status === 409) {
    const problem = result.error as { code?: string; slots?: BookingSlot[] } | undefined;
    if (problem?.code === "slot_taken") throw new TakenError(problem.slots ?? []);
  }
  return unwrap(Promise.resolve(result));
}
