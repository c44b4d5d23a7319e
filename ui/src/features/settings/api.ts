// Settings queries and mutations (TanStack Query keys: ["settings", ...], ["catalog", ...],
// ["users", ...]). Every change is the server's to accept: the forms send the
// `version` they read and show a 409/412 as "someone else changed this".
import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";

export type Settings = components["schemas"]["Settings"];
export type SettingsPatch = components["schemas"]["SettingsPatch"];
export type TaxRate = components["schemas"]["TaxRate"];
export type TaxRateInput = components["schemas"]["TaxRateInput"];
export type CatalogItem = components["schemas"]["CatalogItem"];
export type CatalogItemInput = components["schemas"]["CatalogItemInput"];
export type TeamMember = components["schemas"]["User"];
export type Role = components["schemas"]["Role"];
export type MessagingStatus = components["schemas"]["MessagingStatus"];
export type TestOutcome = components["schemas"]["TestOutcome"];
export type PaymentTerms = components["schemas"]["PaymentTerms"];

export const settingsKey = ["settings"] as const;

export function useSettings() {
  return useQuery({ queryKey: settingsKey, queryFn: ({ signal }) => unwrap(api.GET("/api/v1/settings", { signal })) });
}

/** The settings as saved now, read past the query cache (a stale save compares with them). */
export function fetchSettings(): Promise<Settings> {
  return unwrap(api.GET("/api/v1/settings"));
}

export function patchSettings(patch: SettingsPatch) {
  return unwrap(api.PATCH("/api/v1/settings", { body: patch }));
}

export async function uploadLogo(file: File): Promise<Settings> {
  const form = new FormData();
  form.append("file", file);
  return unwrap(
    api.PUT("/api/v1/settings/logo", {
      // openapi-fetch would JSON-encode the body: hand it the FormData as is.
      body: form as unknown as { file: string },
      bodySerializer: (body) => body as unknown as FormData,
    }),
  );
}

export function deleteLogo() {
  return unwrap(api.DELETE("/api/v1/settings/logo"));
}

export function useTaxRates() {
  return useQuery({
    queryKey: ["settings", "tax-rates"],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/settings/tax-rates", { signal })),
  });
}

export function createTaxRate(input: TaxRateInput) {
  return unwrap(api.POST("/api/v1/settings/tax-rates", { body: input }));
}

/** A tax rate as saved now, read past the query cache (a stale save compares with it). */
export async function fetchTaxRate(id: string): Promise<TaxRate> {
  const rates = await unwrap(api.GET("/api/v1/settings/tax-rates"));
  const rate = rates.find((r) => r.id === id);
  if (!rate) throw new Error("The tax rate was deleted.");
  return rate;
}

export function updateTaxRate(id: string, input: TaxRateInput) {
  return unwrap(api.PUT("/api/v1/settings/tax-rates/{id}", { params: { path: { id } }, body: input }));
}

export function deleteTaxRate(id: string) {
  return unwrap(api.DELETE("/api/v1/settings/tax-rates/{id}", { params: { path: { id } } }));
}

export function useCatalog(q: string) {
  return useQuery({
    queryKey: ["catalog", "list", { q }],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/catalog", { params: { query: { limit: 100, q: q || undefined } }, signal })),
    placeholderData: (previous) => previous,
  });
}

export function createCatalogItem(input: CatalogItemInput) {
  return unwrap(api.POST("/api/v1/catalog", { body: input }));
}

/** A catalog item as saved now, read past the query cache (a stale save compares with it). */
export function fetchCatalogItem(id: string): Promise<CatalogItem> {
  return unwrap(api.GET("/api/v1/catalog/{id}", { params: { path: { id } } }));
}

export function updateCatalogItem(id: string, input: CatalogItemInput) {
  return unwrap(api.PUT("/api/v1/catalog/{id}", { params: { path: { id } }, body: input }));
}

export function deleteCatalogItem(id: string) {
  return unwrap(api.DELETE("/api/v1/catalog/{id}", { params: { path: { id } } }));
}

export function useTeam() {
  return useQuery({
    queryKey: ["users", "list"],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/users", { params: { query: { limit: 100 } }, signal })),
  });
}

export function inviteMember(input: { name: string; email: string; role: Role }) {
  return unwrap(api.POST("/api/v1/users", { body: { ...input, password: null } }));
}

export function updateMember(id: string, patch: { role?: Role; active?: boolean; version: number }) {
  return unwrap(api.PATCH("/api/v1/users/{id}", { params: { path: { id } }, body: patch }));
}

export function resendInvitation(id: string) {
  return unwrap(api.POST("/api/v1/users/{id}/invitation", { params: { path: { id } } }));
}

export function resetTotp(id: string) {
  return unwrap(api.DELETE("/api/v1/users/{id}/totp", { params: { path: { id } } }));
}

export function useMessaging(enabled: boolean) {
  return useQuery({
    queryKey: ["settings", "messaging"],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/settings/messaging", { signal })),
    enabled,
  });
}

export function sendTestEmail(to: string) {
  return unwrap(api.POST("/api/v1/settings/email/test", { body: { to: to.trim() || null } }));
}

export function sendTestSms(to: string) {
  return unwrap(api.POST("/api/v1/settings/sms/test", { body: { to } }));
}

export function useStripe(enabled: boolean) {
  return useQuery({
    queryKey: ["settings", "stripe"],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/settings/payments/stripe", { signal })),
    enabled,
  });
}

export function setStripeKeys(input: { secret_key: string; webhook_secret: string; publishable_key?: string }) {
  return unwrap(api.PUT("/api/v1/settings/payments/stripe", { body: input }));
}

export function useQuickBooks(enabled: boolean) {
  return useQuery({
    queryKey: ["settings", "quickbooks"],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/integrations/quickbooks", { signal })),
    enabled,
  });
}

export function connectQuickBooks() {
  return unwrap(api.POST("/api/v1/integrations/quickbooks/connect"));
}

/**
 * An amount typed in major units ("12.50", "1,234.5") as minor units, exactly (no
 * float arithmetic); null when it is not an amount.
 */
export function parseMoney(text: string, digits: number): number | null {
  const clean = text.trim().replace(/[\s,]/g, "");
  const match = /^(\d+)(?:\.(\d*))?$/.exec(clean);
  if (!match) return null;
  const whole = match[1] ?? "0";
  const frac = match[2] ?? "";
  if (frac.length > digits) return null;
  return Number(whole + frac.padEnd(digits, "0"));
}

/** Minor units as the text a person would type back ("12.50"). */
export function moneyText(minor: number, digits: number): string {
  if (digits === 0) return String(minor);
  const negative = minor < 0;
  const abs = String(Math.abs(minor)).padStart(digits + 1, "0");
  return `${negative ? "-" : ""}${abs.slice(0, -digits)}.${abs.slice(-digits)}`;
}

export type RequestFormSettings = components["schemas"]["FormSettings"];
export type RequestFormSettingsInput = components["schemas"]["FormSettingsInput"];
export const requestFormKey = ["settings", "request-form"] as const;

export function useRequestFormSettings() {
  return useQuery({
    queryKey: requestFormKey,
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/settings/request-form", { signal })),
  });
}

/** The request form's settings as saved now, read past the query cache (a stale save compares with them). */
export function fetchRequestFormSettings(): Promise<RequestFormSettings> {
  return unwrap(api.GET("/api/v1/settings/request-form"));
}

export function putRequestFormSettings(input: RequestFormSettingsInput) {
  return unwrap(api.PUT("/api/v1/settings/request-form", { body: input }));
}

export type NotificationSettings = components["schemas"]["NotificationSettings"];
export type NotificationSettingsInput = components["schemas"]["NotificationSettingsInput"];
export const notificationSettingsKey = ["settings", "notifications", "me"] as const;

/** The signed-in person's own notification emails. */
export function useNotificationSettings() {
  return useQuery({
    queryKey: notificationSettingsKey,
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/me/notification-settings", { signal })),
  });
}

export function putNotificationSettings(input: NotificationSettingsInput) {
  return unwrap(api.PUT("/api/v1/me/notification-settings", { body: input }));
}
