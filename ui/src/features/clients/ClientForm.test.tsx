import { afterEach, describe, expect, it, vi } from "vitest";
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ApiProblem } from "../../api/problem";
import type { Client } from "./api";
import { ClientForm } from "./ClientForm";

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": status >= 400 ? "application/problem+json" : "application/json" } });

function client(part: Partial<Client>): Client {
  return {
    id: "c1",
    first_name: "Ann",
    last_name: "Lee",
    company_name: null,
    display_name: "Ann Lee",
    emails: [],
    phones: [],
    billing_address: { street1: "12 Elm St", street2: null, city: "Portland", region: "OR", postal_code: "97201", country: "US" },
    tags: [],
    notes: null,
    status: "active",
    version: 1,
    created_at: "2026-01-01T10:00:00Z",
    updated_at: "2026-01-01T10:00:00Z",
    ...part,
  } as Client;
}

afterEach(() => vi.unstubAllGlobals());

describe("ClientForm", () => {
  it("shows the server's problem+json field errors at their fields", async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn().mockRejectedValue(
      new ApiProblem(422, {
        status: 422,
        code: "validation_failed",
        detail: "One or more fields are invalid",
        errors: [
          { field: "emails[0].address", message: "is not a valid email address" },
          { field: "billing_address.postal_code", message: "is too long" },
          { field: "first_name", message: "a first or last name, or a company name, is required" },
        ],
      }),
    );
    render(<ClientForm submitLabel="Save client" onSubmit={onSubmit} />);

    await user.type(screen.getByLabelText("Email"), "not-an-email");
    await user.click(screen.getByRole("button", { name: "Save client" }));

    expect(onSubmit).toHaveBeenCalledTimes(1);
    expect(onSubmit.mock.calls[0]?.[0]).toMatchObject({ emails: [{ address: "not-an-email", primary: true }] });
    const email = screen.getByLabelText("Email");
    expect(email).toHaveAttribute("aria-invalid", "true");
    expect(email).toHaveAccessibleDescription("Is not a valid email address");
    expect(screen.getByLabelText("Postal code")).toHaveAccessibleDescription("Is too long");
    expect(screen.getByLabelText("First name")).toHaveAccessibleDescription(/first or last name/);
    expect(screen.getByLabelText("Last name")).not.toHaveAttribute("aria-invalid");
    expect(screen.getByRole("alert")).toHaveTextContent("Please correct the fields marked below.");
  });

  it("a stale save shows who changed which field, and reloads theirs when asked", async () => {
    const user = userEvent.setup();
    const mine = client({ version: 1 });
    const theirs = client({ version: 2, billing_address: { ...mine.billing_address, city: "Salem" }, notes: "Dog in the yard" });
    vi.stubGlobal(
      "fetch",
      vi.fn(async (request: Request) =>
        new URL(request.url).pathname === "/api/v1/clients/c1" ? json(200, theirs) : json(404, { status: 404, code: "not_found", detail: "no" }),
      ),
    );
    const onSubmit = vi.fn().mockRejectedValue(
      new ApiProblem(409, {
        status: 409,
        code: "version_conflict",
        detail: "Maria Lopez changed it; the resource is at version 2; reload it and apply your change again",
        current_version: 2,
        updated_at: "2026-01-15T15:42:00Z",
        updated_by: { kind: "user", id: "u2", name: "Maria Lopez" },
      }),
    );
    render(<ClientForm client={mine} submitLabel="Save" onSubmit={onSubmit} />);
    await user.clear(screen.getByLabelText("City"));
    await user.type(screen.getByLabelText("City"), "Eugene");
    await user.click(screen.getByRole("button", { name: "Save" }));

    const notice = await screen.findByRole("region", { name: /^Maria Lopez changed this client on / });
    const table = await within(notice).findByRole("table");
    expect(within(table).getAllByRole("row").map((r) => r.textContent)).toEqual(["FieldYoursTheirs", "CityEugeneSalem", "Notes(empty)Dog in the yard"]);
    expect(screen.getByRole("button", { name: "Save" })).toBeDisabled();

    await user.click(within(notice).getByRole("button", { name: "Reload theirs" }));
    expect(screen.queryByRole("region", { name: /changed this client/ })).not.toBeInTheDocument();
    expect(screen.getByLabelText("City")).toHaveValue("Salem");
    expect(screen.getByLabelText("Notes")).toHaveValue("Dog in the yard");
    // A save now is based on their version.
    onSubmit.mockResolvedValue(undefined);
    await user.click(screen.getByRole("button", { name: "Save" }));
    expect(onSubmit.mock.calls[1]?.[0]).toMatchObject({ version: 2, billing_address: { city: "Salem" } });
  });

  it("saves mine over theirs only when asked, on their version", async () => {
    const user = userEvent.setup();
    const theirs = client({ version: 2, first_name: "Annie" });
    vi.stubGlobal("fetch", vi.fn(async () => json(200, theirs)));
    const onSubmit = vi
      .fn()
      .mockRejectedValueOnce(new ApiProblem(412, { status: 412, code: "precondition_failed", detail: "changed", current_version: 2, updated_by: { kind: "client" } }))
      .mockResolvedValueOnce(undefined);
    render(<ClientForm client={client({ version: 1 })} submitLabel="Save" onSubmit={onSubmit} />);
    await user.type(screen.getByLabelText("Company"), "Acme");
    await user.click(screen.getByRole("button", { name: "Save" }));
    const notice = await screen.findByRole("region", { name: "The client changed this client" });
    expect(await within(notice).findByRole("row", { name: /First name/ })).toHaveTextContent("First nameAnnAnnie");
    expect(onSubmit).toHaveBeenCalledTimes(1);
    await user.click(within(notice).getByRole("button", { name: "Save mine over theirs" }));
    expect(onSubmit).toHaveBeenCalledTimes(2);
    expect(onSubmit.mock.calls[1]?.[0]).toMatchObject({ version: 2, company_name: "Acme", first_name: "Ann" });
  });

  it("sends tags, address and notes as the API expects", async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn().mockResolvedValue(undefined);
    render(<ClientForm submitLabel="Save" onSubmit={onSubmit} />);
    await user.type(screen.getByLabelText("First name"), "Ada");
    await user.type(screen.getByLabelText("Tags"), "vip, spring , ");
    await user.type(screen.getByLabelText("City"), "Portland");
    await user.click(screen.getByRole("button", { name: "Save" }));
    expect(onSubmit.mock.calls[0]?.[0]).toMatchObject({
      first_name: "Ada",
      last_name: null,
      tags: ["vip", "spring"],
      billing_address: { city: "Portland", street1: null },
      emails: [],
      status: "active",
      version: null,
    });
  });
});
