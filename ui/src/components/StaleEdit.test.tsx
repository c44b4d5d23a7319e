import { describe, expect, it, vi } from "vitest";
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ApiProblem, type ProblemBody } from "../api/problem";
import { LocaleProvider } from "../lib/locale";
import { StaleEdit } from "./StaleEdit";

const problem = (body: Partial<ProblemBody>) =>
  new ApiProblem(409, { status: 409, code: "version_conflict", detail: "changed", current_version: 4, ...body });

describe("StaleEdit", () => {
  it("says who changed the record and when, in the account's zone, and lists yours and theirs", async () => {
    const user = userEvent.setup();
    const onReload = vi.fn();
    const onOverwrite = vi.fn();
    const theirs = { id: "c1", version: 4 };
    // 15:42 UTC is 10:42 in New York (EST) on a day that is not today.
    const stale = { problem: problem({ updated_at: "2026-01-15T15:42:00Z", updated_by: { kind: "user", id: "u2", name: "Maria Lopez" } }), theirs };
    render(
      <LocaleProvider value={{ currency: "USD", timeZone: "America/New_York", locale: "en-US" }}>
        <StaleEdit
          stale={stale}
          what="client"
          changes={[{ key: "city", label: "City", yours: "Portland", theirs: "Salem" }, { key: "notes", label: "Notes", yours: "", theirs: "Dog" }]}
          onReload={onReload}
          onOverwrite={onOverwrite}
        />
      </LocaleProvider>,
    );
    const notice = screen.getByRole("region", { name: "Maria Lopez changed this client on Jan 15, 2026, 10:42 AM" });
    expect(within(notice).getByRole("heading")).toHaveFocus();
    const rows = within(within(notice).getByRole("table")).getAllByRole("row");
    expect(rows.map((r) => r.textContent)).toEqual(["FieldYoursTheirs", "CityPortlandSalem", "Notes(empty)Dog"]);
    await user.click(screen.getByRole("button", { name: "Reload theirs" }));
    expect(onReload).toHaveBeenCalledWith(theirs);
    expect(onOverwrite).not.toHaveBeenCalled();
    await user.click(screen.getByRole("button", { name: "Save mine over theirs" }));
    expect(onOverwrite).toHaveBeenCalledWith(theirs);
  });

  it("waits for the saved record before offering either way on", () => {
    render(<StaleEdit stale={{ problem: problem({ updated_by: { kind: "system" } }) }} what="job" changes={undefined} onReload={vi.fn()} onOverwrite={vi.fn()} />);
    screen.getByRole("region", { name: "An automatic update changed this job" });
    expect(screen.getByRole("status")).toHaveTextContent("Loading what changed");
    expect(screen.getByRole("button", { name: "Reload theirs" })).toBeDisabled();
    expect(screen.getByRole("button", { name: "Save mine over theirs" })).toBeDisabled();
  });

  it("an unknown author and no field of the form changed", () => {
    render(<StaleEdit stale={{ problem: problem({}), theirs: {} }} what="quote" changes={[]} onReload={vi.fn()} onOverwrite={vi.fn()} />);
    screen.getByRole("region", { name: "Someone else changed this quote" });
    screen.getByText(/None of the fields on this form changed/);
  });
});
