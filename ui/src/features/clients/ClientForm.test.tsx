import { describe, expect, it, vi } from "vitest";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ApiProblem } from "../../api/problem";
import { ClientForm } from "./ClientForm";

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

  it("offers a reload when someone else saved first", async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn().mockRejectedValue(new ApiProblem(409, { status: 409, code: "version_conflict", detail: "changed" }));
    render(<ClientForm submitLabel="Save" onSubmit={onSubmit} />);
    await user.type(screen.getByLabelText("Company"), "Acme");
    await user.click(screen.getByRole("button", { name: "Save" }));
    expect(screen.getByRole("alert")).toHaveTextContent(/Someone else changed this client/);
    expect(screen.getByRole("button", { name: "Reload the latest version" })).toBeInTheDocument();
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
