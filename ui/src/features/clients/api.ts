// Client queries and mutations (TanStack Query keys: ["clients", ...]).
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";

export type Client = components["schemas"]["Client"];
export type ClientInput = components["schemas"]["ClientInput"];
export type ClientStatus = components["schemas"]["ClientStatus"];
export type Property = components["schemas"]["Property"];

export const clientStatuses: { value: ClientStatus; label: string }[] = [
  { value: "lead", label: "Lead" },
  { value: "active", label: "Active" },
  { value: "archived", label: "Archived" },
];

export interface ClientFilters {
  q: string;
  status: ClientStatus | "";
  tag: string;
}

const PAGE = 50;

/** Clients page by page (the API's keyset cursor), filtered on the server. */
export function useClientPages(filters: ClientFilters) {
  return useInfiniteQuery({
    queryKey: ["clients", "list", filters],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/clients", {
          params: {
            query: {
              limit: PAGE,
              cursor: pageParam,
              q: filters.q || undefined,
              status: filters.status || undefined,
              tag: filters.tag || undefined,
            },
          },
          signal,
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    placeholderData: (previous) => previous,
  });
}

export function useClient(id: string) {
  return useQuery({
    queryKey: ["clients", id],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/clients/{id}", { params: { path: { id } }, signal })),
  });
}

/** The client as saved now, read past the query cache (a stale edit compares with it). */
export function fetchClient(id: string): Promise<Client> {
  return unwrap(api.GET("/api/v1/clients/{id}", { params: { path: { id } } }));
}

export function useProperties(id: string) {
  return useQuery({
    queryKey: ["clients", id, "properties"],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/clients/{id}/properties", { params: { path: { id }, query: { limit: 100 } }, signal })),
  });
}

export function useClientQuotes(id: string) {
  return useQuery({
    queryKey: ["quotes", "list", { client_id: id }],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/quotes", { params: { query: { client_id: id, limit: 20 } }, signal })),
  });
}

export function useClientJobs(id: string) {
  return useQuery({
    queryKey: ["jobs", "list", { client_id: id }],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/jobs", { params: { query: { client_id: id, limit: 20 } }, signal })),
  });
}

export function useClientInvoices(id: string) {
  return useQuery({
    queryKey: ["invoices", "list", { client_id: id }],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/invoices", { params: { query: { client_id: id, limit: 20 } }, signal })),
  });
}

export function createClient(input: ClientInput) {
  return unwrap(api.POST("/api/v1/clients", { body: input }));
}

export function updateClient(id: string, input: ClientInput) {
  return unwrap(api.PUT("/api/v1/clients/{id}", { params: { path: { id } }, body: input }));
}

export function addressLines(address: components["schemas"]["Address"] | undefined): string[] {
  if (!address) return [];
  const cityLine = [address.city, address.region, address.postal_code].filter(Boolean).join(", ");
  return [address.street1, address.street2, cityLine, address.country].filter((l): l is string => Boolean(l));
}
