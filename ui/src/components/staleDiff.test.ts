import { describe, expect, it } from "vitest";
import { changedFields, shown, whoChanged } from "./staleDiff";

const fields = [
  { key: "title", label: "Title" },
  { key: "notes", label: "Notes" },
  { key: "tags", label: "Tags" },
];

describe("what a stale edit lists", () => {
  it("lists only the fields whose saved value moved from the one the form started from", () => {
    const base = { title: "Spring cleanup", notes: "Gate 4411", tags: ["vip"] };
    const theirs = { title: "Spring cleanup", notes: "Gate 9090", tags: ["vip", "dog"] };
    const mine = { title: "Spring cleanup, back yard", notes: "Gate 4411", tags: ["vip"] };
    expect(changedFields(fields, base, theirs, mine)).toEqual([
      { key: "notes", label: "Notes", yours: "Gate 4411", theirs: "Gate 9090" },
      { key: "tags", label: "Tags", yours: "vip", theirs: "vip, dog" },
    ]);
  });

  it("a field both changed shows both values; one neither changed is not listed", () => {
    const base: Record<string, unknown> = { title: "A", notes: "", tags: [] };
    const theirs: Record<string, unknown> = { title: "B", notes: null, tags: [] };
    const mine: Record<string, unknown> = { title: "C", notes: "typed", tags: [] };
    // "" and null are the same nothing: notes did not change on the server.
    expect(changedFields(fields, base, theirs, mine)).toEqual([{ key: "title", label: "Title", yours: "C", theirs: "B" }]);
  });

  it("nothing changed on the form's fields: an empty list", () => {
    const same = { title: "A", notes: "n", tags: ["x"] };
    expect(changedFields(fields, same, { ...same, tags: ["x "] }, same)).toEqual([]);
  });

  it("values read as text", () => {
    expect(shown(undefined)).toBe("");
    expect(shown(" a ")).toBe("a");
    expect(shown(["a", "", null, "b"])).toBe("a, b");
    expect(shown(3)).toBe("3");
    expect(shown(false)).toBe("false");
  });

  it("names who changed it", () => {
    expect(whoChanged({ kind: "user", id: "u1", name: "Maria Lopez" })).toBe("Maria Lopez");
    expect(whoChanged({ kind: "client" })).toBe("The client");
    expect(whoChanged({ kind: "system" })).toBe("An automatic update");
    expect(whoChanged(undefined)).toBe("Someone else");
  });
});
