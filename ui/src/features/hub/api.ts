// The client hub's calls: every one carries the link's signed parameters.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import type { HubKind, HubLink } from "./link";

const path = (kind: HubKind) => (kind === "quote" ? "quotes" : kind === "invoice" ? "invoices" : "clients");

export function useHubContext(kind: Exclude<HubKind, "client">, id: string, link: HubLink) {
  return useQuery({
    queryKey: ["hub", kind, id, "context"],
    queryFn: ({ signal }) =>
      kind === "quote"
        ? unwrap(api.GET("/api/v1/hub/quotes/{id}/context", { params: { path: { id }, query: link }, signal }))
        : unwrap(api.GET("/api/v1/hub/invoices/{id}/context", { params: { path: { id }, query: link }, signal })),
  });
}

export function useHubQuote(id: string, link: HubLink) {
  return useQuery({
    queryKey: ["hub", "quote", id],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/hub/quotes/{id}", { params: { path: { id }, query: link }, signal })),
  });
}

export function useHubInvoice(id: string, link: HubLink) {
  return useQuery({
    queryKey: ["hub", "invoice", id],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/hub/invoices/{id}", { params: { path: { id }, query: link }, signal })),
  });
}

/** The server's totals for the ticked optional lines (never added up here). */
export function useQuotePreview(id: string, link: HubLink, selected: string[], enabled: boolean) {
  return useQuery({
    queryKey: ["hub", "quote", id, "preview", [...selected].sort()],
    enabled,
    placeholderData: keepPreviousData,
    queryFn: ({ signal }) =>
      unwrap(
        api.POST("/api/v1/hub/quotes/{id}/preview", {
          params: { path: { id }, query: link },
          body: { selected_optional_line_ids: selected },
          signal,
        }),
      ),
  });
}

export function useApprove(id: string, link: HubLink) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { signature_name: string; selected_optional_line_ids: string[]; version: number; signature_png?: string }) =>
      unwrap(api.POST("/api/v1/hub/quotes/{id}/approve", { params: { path: { id }, query: link }, body })),
    onSuccess: (quote) => client.setQueryData(["hub", "quote", id], quote),
  });
}

export function useRequestChanges(id: string, link: HubLink) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { note: string; version: number }) =>
      unwrap(api.POST("/api/v1/hub/quotes/{id}/request-changes", { params: { path: { id }, query: link }, body })),
    onSuccess: (quote) => client.setQueryData(["hub", "quote", id], quote),
  });
}

export function useSms(kind: HubKind, id: string, link: HubLink) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (opt_in: boolean) =>
      kind === "quote"
        ? unwrap(api.PUT("/api/v1/hub/quotes/{id}/sms", { params: { path: { id }, query: link }, body: { opt_in } }))
        : kind === "invoice"
          ? unwrap(api.PUT("/api/v1/hub/invoices/{id}/sms", { params: { path: { id }, query: link }, body: { opt_in } }))
          : unwrap(api.PUT("/api/v1/hub/clients/{id}/sms", { params: { path: { id }, query: link }, body: { opt_in } })),
    onSuccess: () => client.invalidateQueries({ queryKey: kind === "client" ? ["hub", "client", id] : ["hub", kind, id, "context"] }),
  });
}

export function startCardPayment(id: string, link: HubLink) {
  return unwrap(api.POST("/api/v1/hub/invoices/{id}/payments", { params: { path: { id }, query: link }, body: {} }));
}

export function getPayment(id: string, paymentId: string, link: HubLink) {
  return unwrap(
    api.GET("/api/v1/hub/invoices/{id}/payments/{payment_id}", { params: { path: { id, payment_id: paymentId }, query: link } }),
  );
}

export function askForFreshLink(kind: HubKind, id: string, account: string) {
  return kind === "client"
    ? unwrap(api.POST("/api/v1/hub/client-links", { body: { id, account } }))
    : unwrap(api.POST("/api/v1/hub/links", { body: { kind, id, account } }));
}

/**
 * The business behind a genuine link, even an expired one, for the page that
 * offers a fresh link (null for a forged or damaged link: that page stays plain).
 */
export function useLinkBrand(kind: HubKind, id: string, link: HubLink | null) {
  return useQuery({
    queryKey: ["hub", kind, id, "brand", link?.expires, link?.sig],
    enabled: link !== null,
    retry: false,
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/hub/brand", { params: { query: { kind, id, ...link! } }, signal })),
  });
}

export function pdfUrl(kind: HubKind, id: string, link: HubLink): string {
  const q = new URLSearchParams({ account: link.account, expires: String(link.expires), sig: link.sig });
  return `/api/v1/hub/${path(kind)}/${id}/pdf?${q}`;
}

/** The client's own page: quotes, invoices, receipts, visits and what "request more work" offers. */
export function useHubClientPage(id: string, link: HubLink) {
  return useQuery({
    queryKey: ["hub", "client", id],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/hub/clients/{id}", { params: { path: { id }, query: link }, signal })),
  });
}

export function useRequestWork(id: string, link: HubLink) {
  return useMutation({
    mutationFn: (body: { details: string; service_id?: string; property_id?: string; preferred_times?: string }) =>
      unwrap(api.POST("/api/v1/hub/clients/{id}/requests", { params: { path: { id }, query: link }, body })),
  });
}
