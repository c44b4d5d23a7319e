import { describe, expect, it } from "vitest";
import { moneyText, parseMoney } from "./api";

describe("amounts typed in settings", () => {
  it("become minor units exactly, or null", () => {
    expect(parseMoney("149", 2)).toBe(14900);
    expect(parseMoney("1,234.5", 2)).toBe(123450);
    expect(parseMoney("0.07", 2)).toBe(7);
    expect(parseMoney("19.99", 2)).toBe(1999);
    expect(parseMoney("500", 0)).toBe(500);
    expect(parseMoney("1.005", 2)).toBeNull();
    expect(parseMoney("twelve", 2)).toBeNull();
    expect(parseMoney("-3", 2)).toBeNull();
  });
  it("come back as the text a person would type", () => {
    expect(moneyText(14900, 2)).toBe("149.00");
    expect(moneyText(7, 2)).toBe("0.07");
    expect(moneyText(500, 0)).toBe("500");
    expect(moneyText(1234, 3)).toBe("1.234");
  });
});
