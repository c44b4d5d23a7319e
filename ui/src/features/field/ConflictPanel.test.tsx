import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { baseOf, type QueuedChange, type Visit, type VisitConflict } from "./changes";
import { ConflictPanel } from "./ConflictPanel";
import { field } from "./store";

const op: QueuedChange = {
  seq: 7,
  key: "k",
  record: "v1",
  payload: { kind: "notes", visitId: "v1", notes: "Fixed the leak", baseNotes: "", baseVersion: 1 },
  theirs: { notes: "Gate code 1234", version: 3 },
  createdAt: "",
  attempts: 1,
  nextAttemptAt: 0,
  state: "conflict",
};

describe("a notes conflict", () => {
  it("shows both versions and sends nothing until the technician decides", async () => {
    const resolve = vi.spyOn(field, "resolve").mockResolvedValue();
    render(<ConflictPanel op={op} />);
    expect(screen.getByRole("alert")).toHaveTextContent("The office changed these notes");
    expect(screen.getByText("Gate code 1234")).toBeInTheDocument();
    expect(screen.getByText("Fixed the leak")).toBeInTheDocument();
    expect(resolve).not.toHaveBeenCalled();

    // Keeping mine writes over the office's version, knowingly.
    await userEvent.click(screen.getByRole("button", { name: "Keep mine" }));
    expect(resolve).toHaveBeenLastCalledWith(7, { ...op.payload, baseNotes: "Gate code 1234", baseVersion: 3 });

    await userEvent.click(screen.getByRole("button", { name: "Combine both" }));
    expect(screen.getByLabelText("Notes to keep")).toHaveValue("Gate code 1234\n\nFixed the leak");
    await userEvent.click(screen.getByRole("button", { name: "Save these notes" }));
    expect(resolve).toHaveBeenLastCalledWith(7, { ...op.payload, notes: "Gate code 1234\n\nFixed the leak", baseNotes: "Gate code 1234", baseVersion: 3 });
    resolve.mockRestore();
  });

  it("keeping the office's drops the technician's change", async () => {
    const resolve = vi.spyOn(field, "resolve").mockResolvedValue();
    render(<ConflictPanel op={op} />);
    await userEvent.click(screen.getByRole("button", { name: "Keep the office's" }));
    expect(resolve).toHaveBeenCalledWith(7, null);
    resolve.mockRestore();
  });
});

describe("a completion that met an office change", () => {
  const seen = {
    id: "v1",
    version: 4,
    status: "in_progress",
    starts_at: "2026-12-03T14:00:00Z",
    ends_at: "2026-12-03T16:00:00Z",
    anytime: false,
    instructions: "Side gate is unlocked.",
    assignee_ids: ["u1"],
    checklist: [{ id: "i1", text: "Water off", done: true }],
    time_entries: [],
  } as unknown as Visit;
  const theirs = (reason: VisitConflict["reason"], patch: Partial<Visit>): VisitConflict => ({
    kind: "visit",
    reason,
    visit: { ...seen, version: 6, ...patch },
    by: "Hana Harbor",
  });
  const held = (conflict: VisitConflict): QueuedChange => ({
    seq: 9,
    key: "k",
    record: "v1",
    payload: { kind: "complete", visitId: "v1", at: "2026-12-03T15:30:00Z", base: baseOf(seen, "u1") },
    theirs: conflict,
    createdAt: "",
    attempts: 1,
    nextAttemptAt: 0,
    state: "conflict",
  });

  it("shows the office's instructions beside the ones the technician had; 'complete anyway' is based on the office's version", async () => {
    const resolve = vi.spyOn(field, "resolve").mockResolvedValue();
    const conflict = theirs("instructions", { instructions: "Client asks: do not complete, a second valve leaks.", starts_at: "2026-12-03T14:30:00Z" });
    render(<ConflictPanel op={held(conflict)} zone="America/New_York" />);
    const panel = screen.getByRole("alert");
    expect(panel).toHaveTextContent("The office changed the instructions");
    expect(panel).toHaveTextContent("Hana Harbor changed this visit");
    expect(panel).toHaveTextContent("Instructions: Client asks: do not complete, a second valve leaks.");
    expect(panel).toHaveTextContent("Instructions you had: Side gate is unlocked.");
    expect(panel).toHaveTextContent("You completed the visit at 10:30");
    expect(panel).toHaveTextContent(/Now 9:30/);
    expect(resolve).not.toHaveBeenCalled();
    await userEvent.click(screen.getByRole("button", { name: "Complete anyway" }));
    const [seq, payload] = resolve.mock.lastCall!;
    expect(seq).toBe(9);
    expect(payload).toMatchObject({ kind: "complete", base: { version: 6, by: "u1", instructions: "Client asks: do not complete, a second valve leaks." } });
    resolve.mockRestore();
  });

  it("a cancelled visit can only be let go", async () => {
    const resolve = vi.spyOn(field, "resolve").mockResolvedValue();
    render(<ConflictPanel op={held(theirs("cancelled", { status: "cancelled" }))} zone="America/New_York" />);
    expect(screen.getByRole("alert")).toHaveTextContent("The office cancelled this visit");
    expect(screen.getByRole("alert")).toHaveTextContent("Cancelled");
    expect(screen.queryByRole("button", { name: "Complete anyway" })).toBeNull();
    await userEvent.click(screen.getByRole("button", { name: "Discard my completion" }));
    expect(resolve).toHaveBeenCalledWith(9, null);
    resolve.mockRestore();
  });
});
