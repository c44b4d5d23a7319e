import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { QueuedChange } from "./changes";
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
