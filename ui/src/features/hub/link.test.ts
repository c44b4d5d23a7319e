import { describe, expect, it } from "vitest";
import { brandColor, contrast, parseLink } from "./link";

describe("parseLink", () => {
  it("reads the signed parameters", () => {
    expect(parseLink("?account=a1&expires=1900000000&sig=xyz")).toEqual({ account: "a1", expires: 1900000000, sig: "xyz" });
  });
  it("refuses a link with a part missing or garbled", () => {
    expect(parseLink("?account=a1&expires=1900000000")).toBeNull();
    expect(parseLink("?account=a1&expires=soon&sig=x")).toBeNull();
    expect(parseLink("")).toBeNull();
  });
});

describe("brandColor", () => {
  it("keeps a dark brand colour", () => {
    expect(brandColor("#1a5fb4")).toBe("#1A5FB4");
  });
  it("darkens a pale one until white text reads at AA", () => {
    const color = brandColor("#FFE066");
    expect(color).not.toBe("#FFE066");
    expect(contrast(color, "#FFFFFF")).toBeGreaterThanOrEqual(4.5);
  });
  it("falls back on a missing or malformed colour", () => {
    expect(brandColor(undefined)).toBe("#2F6F4E");
    expect(brandColor("red")).toBe("#2F6F4E");
  });
});
