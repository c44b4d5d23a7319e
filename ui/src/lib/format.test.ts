import { describe, expect, it } from "vitest";
import { CLOCK, currencyDigits, formatBps, formatClock, formatDate, formatDateTime, formatDay, formatMinutes, formatMoney, formatWallClock } from "./format";

// Intl may use a narrow no-break space between parts; compare with plain spaces.
const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, " ");

describe("formatMoney", () => {
  it("divides minor units by the currency's own digits", () => {
    expect(formatMoney(123456, "USD", "en-US")).toBe("$1,234.56");
    expect(formatMoney(5, "USD", "en-US")).toBe("$0.05");
    expect(formatMoney(-2500, "USD", "en-US")).toBe("-$25.00");
    expect(formatMoney(1234, "JPY", "ja-JP")).toBe("￥1,234");
    expect(formatMoney(1234, "KWD", "en-US")).toMatch(/^KWD\s1\.234$/);
  });

  it("follows the reader's locale", () => {
    expect(plain(formatMoney(123456, "EUR", "de-DE"))).toBe("1.234,56 €");
    expect(plain(formatMoney(123456, "CAD", "fr-CA"))).toBe("1 234,56 $");
  });

  it("is exact past 2^53 with bigint amounts", () => {
    expect(formatMoney(123456789012345678901n, "USD", "en-US")).toBe("$1,234,567,890,123,456,789.01");
    expect(formatMoney(-1n, "USD", "en-US")).toBe("-$0.01");
  });

  it("knows currency digits", () => {
    expect(currencyDigits("USD")).toBe(2);
    expect(currencyDigits("JPY")).toBe(0);
    expect(currencyDigits("BHD")).toBe(3);
  });
});

describe("dates", () => {
  it("shows an instant in the account's time zone, not the browser's", () => {
    // 03:30 UTC on 3 Dec is still 2 Dec in Los Angeles and already 3 Dec in Sydney.
    const iso = "2026-12-03T03:30:00Z";
    expect(formatDate(iso, "America/Los_Angeles", "en-US")).toBe("Dec 2, 2026");
    expect(formatDate(iso, "Australia/Sydney", "en-US")).toBe("Dec 3, 2026");
    expect(plain(formatDateTime(iso, "America/New_York", "en-US"))).toBe("Dec 2, 2026, 10:30 PM");
  });

  it("keeps a calendar day the same day in every zone", () => {
    expect(formatDay("2026-03-08", "en-US")).toBe("Mar 8, 2026");
    expect(formatDay("2026-03-08", "en-GB", { dateStyle: "full" })).toMatch(/^Sunday,? 8 March 2026$/);
  });

  it("formats basis points as a percentage", () => {
    expect(formatBps(2500, "en-US")).toBe("25%");
    expect(formatBps(3333, "en-US")).toBe("33.3%");
  });
});

describe("formatClock", () => {
  it("writes a time of day as the reader's locale does, like the visit lists", () => {
    expect(plain(formatClock("08:00", "en-US"))).toBe("8:00 AM");
    expect(plain(formatClock("13:05", "en-US"))).toBe("1:05 PM");
    expect(formatClock("08:00", "en-GB")).toBe("8:00");
    expect(formatClock("13:05", "de-DE")).toBe("13:05");
    // The same words as a visit's time in a list.
    const visit = plain(formatWallClock("2026-12-07T13:05:00", "en-US", { weekday: "short", hour: "numeric", minute: "2-digit" }));
    expect(visit.endsWith(plain(formatClock("13:05", "en-US")))).toBe(true);
  });

  it("writes an instant's time of day in the account's zone the same way", () => {
    // 15:05 UTC is 9:05 in Chicago; en-GB writes it as a 24-hour clock.
    expect(plain(formatDateTime("2026-12-07T15:05:00Z", "America/Chicago", "en-US", { ...CLOCK, timeZone: "America/Chicago" }))).toBe(plain(formatClock("09:05", "en-US")));
    expect(formatDateTime("2026-12-07T15:05:00Z", "Europe/London", "en-GB", { ...CLOCK, timeZone: "Europe/London" })).toBe(formatClock("15:05", "en-GB"));
  });

  it("leaves what is not a time alone", () => {
    expect(formatClock("soon", "en-US")).toBe("soon");
  });
});

describe("formatMinutes", () => {
  it("writes a length of time in hours and minutes, rounded to the minute", () => {
    expect(formatMinutes(0)).toBe("0 min");
    expect(formatMinutes(14.6)).toBe("15 min");
    expect(formatMinutes(60)).toBe("1 h 00 min");
    expect(formatMinutes(73)).toBe("1 h 13 min");
    expect(formatMinutes(-5)).toBe("0 min");
  });
});
