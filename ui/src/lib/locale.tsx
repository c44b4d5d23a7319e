import { createContext, useContext, useMemo, type ReactNode } from "react";
import { CLOCK, formatClock, formatDate, formatDateTime, formatDay, formatMoney, formatBps, formatNumber, formatWallClock } from "./format";

export interface LocaleSettings {
  currency: string;
  timeZone: string;
  /** BCP 47 tag; undefined: the browser's language. */
  locale?: string;
}

const LocaleContext = createContext<LocaleSettings>({ currency: "USD", timeZone: "UTC" });

export function LocaleProvider({ value, children }: { value: LocaleSettings; children: ReactNode }) {
  return <LocaleContext.Provider value={value}>{children}</LocaleContext.Provider>;
}

/** Formatters bound to the account's currency and time zone. */
export function useFormat() {
  const { currency, timeZone, locale } = useContext(LocaleContext);
  return useMemo(
    () => ({
      currency,
      timeZone,
      money: (minor: number | bigint, options?: { compact?: boolean; currency?: string }) =>
        formatMoney(minor, options?.currency ?? currency, locale, options),
      bps: (bps: number) => formatBps(bps, locale),
      number: (value: number) => formatNumber(value, locale),
      day: (isoDate: string, options?: Intl.DateTimeFormatOptions) => formatDay(isoDate, locale, options),
      wallClock: (local: string, options?: Intl.DateTimeFormatOptions) => formatWallClock(local, locale, options),
      clock: (hhmm: string) => formatClock(hhmm, locale),
      /** The time of day of an instant in the account's zone, written as `clock` writes it. */
      time: (iso: string) => formatDateTime(iso, timeZone, locale, { ...CLOCK, timeZone }),
      date: (iso: string) => formatDate(iso, timeZone, locale),
      dateTime: (iso: string) => formatDateTime(iso, timeZone, locale),
    }),
    [currency, timeZone, locale],
  );
}
