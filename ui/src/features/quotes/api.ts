// Quote queries and mutations (TanStack Query keys: ["quotes", …]; the catalog under
// ["catalog", …], tax rates under ["settings", "tax-rates"]). Totals always come from
// the server (POST /quotes/preview while building, the saved quote after).
import { keepPreviousData, useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { isProblem } from "../../api/problem";
import type { components } from "../../api/schema";

export type Quote = components["schemas"]["Quote"];
export type QuoteInput = components["schemas"]["QuoteInput"];
export type QuoteStatus = components["schemas"]["QuoteStatus"];
export type QuotePreview = components["schemas"]["QuotePreview"];
export type QuotePreviewInput = components["schemas"]["QuotePreviewInput"];
export type LineInput = components["schemas"]["LineInput"];
export type Adjustment = components["schemas"]["AdjustmentDto"];
export type CatalogItem = components["schemas"]["CatalogItem"];
export type TaxRate = components["schemas"]["TaxRate"];
export type Address = components["schemas"]["Address"];

export const quoteStatuses: { value: QuoteStatus; label: string }[] = [
  { value: "draft", label: "Draft" },
  { value: "sent", label: "Awaiting response" },
  { value: "changes_requested", label: "Changes requested" },
  { value: "approved", label: "Approved" },
  { value: "converted", label: "Converted" },
  { value: "declined", label: "Declined" },
  { value: "expired", label: "Expired" },
  { value: "archived", label: "Archived" },
];

/**
 * The list's filter: one status, or several with commas (the API's `?status=a,b`):
 * "sent,changes_requested" are the quotes the dashboard counts as awaiting a reply,
 * "approved,converted" the ones its conversion figure counts as won.
 */
export type QuoteFilter = QuoteStatus | "sent,changes_requested" | "approved,converted";

export const quoteFilters: { value: QuoteFilter; label: string }[] = quoteStatuses.flatMap((s): { value: QuoteFilter; label: string }[] =>
  s.value === "sent"
    ? [{ value: "sent,changes_requested" as const, label: "Sent or changes requested" }, s]
    : s.value === "approved"
      ? [{ value: "approved,converted" as const, label: "Won (approved or converted)" }, s]
      : [s],
);

export function statusLabel(status: QuoteFilter): string {
  return quoteFilters.find((s) => s.value === status)?.label ?? status;
}

const PAGE = 50;

/** Quotes page by page (the API's keyset cursor), newest first. */
export function useQuotePages(status: QuoteFilter | "") {
  return useInfiniteQuery({
    queryKey: ["quotes", "list", { status }],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam, signal }) =>
      unwrap(api.GET("/api/v1/quotes", { params: { query: { limit: PAGE, cursor: pageParam, status: status || undefined } }, signal })),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    placeholderData: (previous) => previous,
  });
}

export function useQuote(id: string | undefined) {
  return useQuery({
    queryKey: ["quotes", id],
    enabled: Boolean(id),
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/quotes/{id}", { params: { path: { id: id! } }, signal })),
  });
}

export function useClient(id: string | undefined) {
  return useQuery({
    queryKey: ["clients", id],
    enabled: Boolean(id),
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/clients/{id}", { params: { path: { id: id! } }, signal })),
  });
}

export function useClientSearch(q: string) {
  return useQuery({
    queryKey: ["clients", "list", { q, status: "", tag: "", pick: true }],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/clients", { params: { query: { q: q || undefined, limit: 20 } }, signal })),
    placeholderData: (previous) => previous,
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

/** The client's activity: the quote's status history is its part of it. */
export function useClientActivity(clientId: string | undefined) {
  return useQuery({
    queryKey: ["clients", clientId, "activity"],
    enabled: Boolean(clientId),
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/clients/{id}/activity", { params: { path: { id: clientId! }, query: { limit: 200 } }, signal })),
  });
}

/** Active catalog items whose name contains `q`. */
export function useCatalogSearch(q: string) {
  return useQuery({
    queryKey: ["catalog", "list", { q, active: true }],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/catalog", { params: { query: { q: q || undefined, active: true, limit: 20 } }, signal })),
    placeholderData: keepPreviousData,
  });
}

export function useTaxRates() {
  return useQuery({
    queryKey: ["settings", "tax-rates"],
    staleTime: 5 * 60_000,
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/settings/tax-rates", { signal })),
  });
}

/** The server's totals for what is being built (no arithmetic here). */
export function useQuotePreview(input: QuotePreviewInput | null) {
  return useQuery({
    queryKey: ["quotes", "preview", input],
    enabled: input !== null,
    queryFn: ({ signal }) => unwrap(api.POST("/api/v1/quotes/preview", { body: input!, signal })),
    placeholderData: keepPreviousData,
    retry: false,
    staleTime: 60_000,
  });
}

export function createQuote(input: QuoteInput) {
  return unwrap(api.POST("/api/v1/quotes", { body: input }));
}

/** The quote as saved now, read past the query cache (a stale edit compares with it). */
export function fetchQuote(id: string): Promise<Quote> {
  return unwrap(api.GET("/api/v1/quotes/{id}", { params: { path: { id } } }));
}

export function updateQuote(id: string, input: QuoteInput) {
  return unwrap(api.PUT("/api/v1/quotes/{id}", { params: { path: { id } }, body: input }));
}

export function sendQuote(id: string, version: number, to?: string) {
  return unwrap(api.POST("/api/v1/quotes/{id}/send", { params: { path: { id } }, body: { version, to: to || null } }));
}

export function approveQuote(id: string, version: number, signatureName: string, optionalIds: string[]) {
  return unwrap(
    api.POST("/api/v1/quotes/{id}/approve", {
      params: { path: { id } },
      body: { version, signature_name: signatureName, selected_optional_line_ids: optionalIds },
    }),
  );
}

export function declineQuote(id: string, version: number, reason?: string) {
  return unwrap(api.POST("/api/v1/quotes/{id}/decline", { params: { path: { id } }, body: { version, reason: reason || null } }));
}

export function archiveQuote(id: string, version: number) {
  return unwrap(api.POST("/api/v1/quotes/{id}/archive", { params: { path: { id } }, body: { version } }));
}

export function convertQuote(id: string, version: number) {
  return unwrap(api.POST("/api/v1/quotes/{id}/convert", { params: { path: { id } }, body: { version } }));
}

/** Where the quote's PDF is (the session cookie authorizes the download). */
export function pdfUrl(id: string): string {
  return `/api/v1/quotes/${id}/pdf`;
}

export function addressLine(address: Address | undefined | null): string {
  if (!address) return "";
  return [address.street1, address.street2, [address.city, address.region, address.postal_code].filter(Boolean).join(", "), address.country]
    .filter(Boolean)
    .join(", ");
}

/** The signature the client drew when approving in the hub; null when they only typed their name. */
export function useDrawnSignature(id: string, enabled: boolean) {
  return useQuery({
    queryKey: ["quotes", id, "signature"],
    enabled,
    staleTime: 10 * 60_000,
    retry: false,
    queryFn: async ({ signal }) => {
      try {
        return await unwrap(api.GET("/api/v1/quotes/{id}/signature", { params: { path: { id } }, signal }));
      } catch (error) {
        if (isProblem(error, "file_not_found")) return null;
        throw error;
      }
    },
  });
}
