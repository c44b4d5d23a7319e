// Invoice queries and mutations (TanStack Query keys: ["invoices", …]; the jobs ready
// to invoice under ["jobs", "to-invoice"], the aging report under ["reports", "aging"]).
// Totals come from the server: POST /invoices/preview while writing one by hand.
import { keepPreviousData, useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";

export type Invoice = components["schemas"]["Invoice"];
export type InvoiceInput = components["schemas"]["InvoiceInput"];
export type InvoiceStatus = components["schemas"]["InvoiceStatus"];
export type InvoicePreviewInput = components["schemas"]["InvoicePreviewInput"];
export type Payment = components["schemas"]["Payment"];
export type PaymentMethod = components["schemas"]["PaymentMethod"];
export type Job = components["schemas"]["Job"];
export type CatalogItem = components["schemas"]["CatalogItem"];
export type TaxRate = components["schemas"]["TaxRate"];
export type Adjustment = components["schemas"]["AdjustmentDto"];

export const invoiceStatuses: { value: InvoiceStatus; label: string }[] = [
  { value: "draft", label: "Draft" },
  { value: "sent", label: "Awaiting payment" },
  { value: "partially_paid", label: "Partly paid" },
  { value: "paid", label: "Paid" },
  { value: "void", label: "Void" },
  { value: "bad_debt", label: "Bad debt" },
];

/**
 * The list's filter: a status, or "past_due" (not a status: issued, unpaid and after
 * the due date, the dashboard's "Overdue invoices"; the API's `past_due=true`).
 */
export type InvoiceFilter = InvoiceStatus | "past_due";

export const invoiceFilters: { value: InvoiceFilter; label: string }[] = invoiceStatuses.flatMap((s) =>
  s.value === "partially_paid" ? [s, { value: "past_due" as const, label: "Past due" }] : [s],
);

export function statusLabel(status: InvoiceFilter): string {
  return invoiceFilters.find((s) => s.value === status)?.label ?? status;
}

export const paymentMethods: { value: PaymentMethod; label: string }[] = [
  { value: "cash", label: "Cash" },
  { value: "check", label: "Check" },
  { value: "bank_transfer", label: "Bank transfer" },
  { value: "card", label: "Card (in person)" },
  { value: "other", label: "Other" },
];

const PAGE = 50;

export function useInvoicePages(filter: InvoiceFilter | "") {
  const status = filter === "past_due" ? undefined : filter || undefined;
  const past_due = filter === "past_due" ? true : undefined;
  return useInfiniteQuery({
    queryKey: ["invoices", "list", { status: filter }],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam, signal }) =>
      unwrap(api.GET("/api/v1/invoices", { params: { query: { limit: PAGE, cursor: pageParam, status, past_due } }, signal })),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    placeholderData: (previous) => previous,
  });
}

/** Jobs with completed work not yet invoiced. */
export function useJobsToInvoice() {
  return useInfiniteQuery({
    queryKey: ["jobs", "to-invoice"],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam, signal }) =>
      unwrap(api.GET("/api/v1/jobs", { params: { query: { limit: PAGE, cursor: pageParam, to_invoice: true } }, signal })),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export function useInvoice(id: string | undefined) {
  return useQuery({
    queryKey: ["invoices", id],
    enabled: Boolean(id),
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/invoices/{id}", { params: { path: { id: id! } }, signal })),
  });
}

/** The payments applied to the invoice, oldest first. */
export function useInvoicePayments(id: string) {
  return useQuery({
    queryKey: ["invoices", id, "payments"],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/invoices/{id}/payments", { params: { path: { id } }, signal })),
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

export function useJob(id: string | undefined) {
  return useQuery({
    queryKey: ["jobs", id],
    enabled: Boolean(id),
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/jobs/{id}", { params: { path: { id: id! } }, signal })),
  });
}

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

export function useInvoicePreview(input: InvoicePreviewInput | null) {
  return useQuery({
    queryKey: ["invoices", "preview", input],
    enabled: input !== null,
    queryFn: ({ signal }) => unwrap(api.POST("/api/v1/invoices/preview", { body: input!, signal })),
    placeholderData: keepPreviousData,
    retry: false,
    staleTime: 60_000,
  });
}

export function useAging() {
  return useQuery({
    queryKey: ["reports", "aging"],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/reports/aging", { signal })),
  });
}

export function createInvoice(input: InvoiceInput) {
  return unwrap(api.POST("/api/v1/invoices", { body: input }));
}

/** The invoice as saved now, read past the query cache (a stale action compares with it). */
export function fetchInvoice(id: string): Promise<Invoice> {
  return unwrap(api.GET("/api/v1/invoices/{id}", { params: { path: { id } } }));
}

export function sendInvoice(id: string, version: number, to?: string) {
  return unwrap(api.POST("/api/v1/invoices/{id}/send", { params: { path: { id } }, body: { version, to: to || null } }));
}

export function voidInvoice(id: string, version: number) {
  return unwrap(api.POST("/api/v1/invoices/{id}/void", { params: { path: { id } }, body: { version } }));
}

export function deleteDraft(id: string) {
  return unwrap(api.DELETE("/api/v1/invoices/{id}", { params: { path: { id } } }));
}

export function recordPayment(id: string, body: { method: PaymentMethod; amount: number; reference: string | null; note: string | null; send_receipt: boolean }) {
  return unwrap(api.POST("/api/v1/invoices/{id}/payments", { params: { path: { id } }, body }));
}

export function refundPayment(id: string, amount: number | null, reason: string | null) {
  return unwrap(api.POST("/api/v1/payments/{id}/refund", { params: { path: { id } }, body: { amount, reason } }));
}

export function pdfUrl(id: string): string {
  return `/api/v1/invoices/${id}/pdf`;
}
