// Money, dates and numbers in the account's currency and time zone, in the
// reader's language. Money arrives in integer minor units (cents); it is only
// divided for display, never computed with (totals come from the server).

const moneyFormats = new Map<string, Intl.NumberFormat>();

function moneyFormat(currency: string, locale?: string, compact = false): Intl.NumberFormat {
  const key = `${locale ?? ""}|${currency}|${compact}`;
  let format = moneyFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(locale, {
      style: "currency",
      currency,
      ...(compact ? { notation: "compact", maximumFractionDigits: 1 } : {}),
    });
    moneyFormats.set(key, format);
  }
  return format;
}

/** Digits after the decimal point of a currency (2 for USD, 0 for JPY, 3 for KWD). */
export function currencyDigits(currency: string): number {
  return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** Format an amount in minor units: `formatMoney(123456, "USD", "en-US")` -> "$1,234.56". */
export function formatMoney(
  minor: number | bigint,
  currency: string,
  locale?: string,
  options: { compact?: boolean } = {},
): string {
  const digits = currencyDigits(currency);
  const format = moneyFormat(currency, locale, options.compact ?? false);
  if (typeof minor === "bigint") {
    // Exact for any size: split into whole and fractional parts as a decimal string.
    const negative = minor < 0n;
    const abs = negative ? -minor : minor;
    const scale = 10n ** BigInt(digits);
    const text = `${negative ? "-" : ""}${abs / scale}.${(abs % scale).toString().padStart(digits, "0")}`;
    return format.format(text as unknown as number);
  }
  return format.format(minor / 10 ** digits);
}

/** A share in basis points (2500 = 25 %) as a percentage. */
export function formatBps(bps: number, locale?: string): string {
  return new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 }).format(bps / 10_000);
}

export function formatNumber(value: number, locale?: string): string {
  return new Intl.NumberFormat(locale).format(value);
}

/** A calendar date (`2026-12-03`, no time zone) as the reader writes dates. */
export function formatDay(isoDate: string, locale?: string, options: Intl.DateTimeFormatOptions = { dateStyle: "medium" }): string {
  const [y, m, d] = isoDate.split("-").map(Number);
  if (!y || !m || !d) return isoDate;
  // Noon UTC formatted in UTC: the same calendar day everywhere.
  return new Intl.DateTimeFormat(locale, { ...options, timeZone: "UTC" }).format(new Date(Date.UTC(y, m - 1, d, 12)));
}

/** A wall-clock date-time without a zone (`2026-12-03T09:30:00`, as the server gives
 * local starts) as the reader writes it: the same clock reading everywhere. */
export function formatWallClock(local: string, locale?: string, options: Intl.DateTimeFormatOptions = { dateStyle: "medium", timeStyle: "short" }): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(local);
  if (!m) return local;
  const [y, mo, d, h, mi] = m.slice(1).map(Number) as [number, number, number, number, number];
  return new Intl.DateTimeFormat(locale, { ...options, timeZone: "UTC" }).format(new Date(Date.UTC(y, mo - 1, d, h, mi)));
}

/** How every time of day is written: the same hour and minute parts as the
 * visit lists (`8:00 AM` in en-US, `8:00` in en-GB). */
export const CLOCK: Intl.DateTimeFormatOptions = { hour: "numeric", minute: "2-digit" };

/** A time of day (`08:00`, as a time field gives it) as the reader writes times. */
export function formatClock(hhmm: string, locale?: string): string {
  return /^\d{2}:\d{2}/.test(hhmm) ? formatWallClock(`2000-01-01T${hhmm}`, locale, CLOCK) : hhmm;
}

/** An instant shown in the account's time zone. */
export function formatDateTime(iso: string, timeZone: string, locale?: string, options?: Intl.DateTimeFormatOptions): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(locale, options ?? { dateStyle: "medium", timeStyle: "short", timeZone }).format(date);
}

/** The date of an instant in the account's time zone. */
export function formatDate(iso: string, timeZone: string, locale?: string): string {
  return formatDateTime(iso, timeZone, locale, { dateStyle: "medium", timeZone });
}

/** A length of time in minutes as "1 h 05 min", or "25 min" under an hour (rounded to the minute). */
export function formatMinutes(minutes: number): string {
  const m = Math.max(0, Math.round(minutes));
  const h = Math.floor(m / 60);
  return h > 0 ? `${h} h ${String(m % 60).padStart(2, "0")} min` : `${m} min`;
}
