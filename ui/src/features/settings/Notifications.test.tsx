import { afterEach, describe, expect, it, vi } from "vitest";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter } from "react-router";
import { NotificationsSection } from "./Notifications";

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": status >= 400 ? "application/problem+json" : "application/json" },
  });

const kinds = [
  { kind: "quote_approved", label: "a client approves a quote", email: true },
  { kind: "invoice_paid", label: "an invoice is paid", email: true },
  { kind: "message_received", label: "a client sends a text message", email: false },
];

function renderSection(put: (body: { email: string[] }) => Response) {
  const sent: { email: string[] }[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (request: Request) => {
      const url = new URL(request.url);
      if (url.pathname !== "/api/v1/me/notification-settings") return json(404, { status: 404, code: "not_found", detail: "no" });
      if (request.method === "PUT") {
        const body = (await request.json()) as { email: string[] };
        sent.push(body);
        return put(body);
      }
      return json(200, { kinds, customized: false });
    }),
  );
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  client.setQueryData(["session"], { user: { id: "me", name: "Olive Owner", email: "olive@example.com", role: "owner" }, account: {}, csrf_token: "t" });
  render(
    <QueryClientProvider client={client}>
      <MemoryRouter>
        <NotificationsSection />
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return sent;
}

afterEach(() => vi.unstubAllGlobals());

describe("Your notifications", () => {
  it("shows the role's defaults and saves exactly the kinds checked", async () => {
    const user = userEvent.setup();
    const sent = renderSection((body) =>
      json(200, { kinds: kinds.map((k) => ({ ...k, email: body.email.includes(k.kind) })), customized: true }),
    );
    const group = await screen.findByRole("group", { name: "Email me when…" });
    expect(group).toBeTruthy();
    expect(screen.getByText(/usual choices for your role/)).toBeTruthy();
    expect(screen.getByText(/olive@example.com/)).toBeTruthy();
    const approved = screen.getByRole("checkbox", { name: "a client approves a quote" }) as HTMLInputElement;
    const paid = screen.getByRole("checkbox", { name: "an invoice is paid" }) as HTMLInputElement;
    const texts = screen.getByRole("checkbox", { name: "a client sends a text message" }) as HTMLInputElement;
    expect([approved.checked, paid.checked, texts.checked]).toEqual([true, true, false]);

    await user.click(texts);
    await user.click(paid);
    await user.click(screen.getByRole("button", { name: "Save changes" }));
    await waitFor(() => expect(sent).toEqual([{ email: ["quote_approved", "message_received"] }]));
    expect(await screen.findByText("Saved.")).toBeTruthy();
    expect(screen.queryByText(/usual choices for your role/)).toBeNull();
    expect((screen.getByRole("checkbox", { name: "a client sends a text message" }) as HTMLInputElement).checked).toBe(true);
    expect((screen.getByRole("checkbox", { name: "an invoice is paid" }) as HTMLInputElement).checked).toBe(false);
  });

  it("shows a refused kind at its checkbox", async () => {
    const user = userEvent.setup();
    renderSection(() =>
      json(422, {
        status: 422,
        code: "validation_failed",
        detail: "email[1]: `invoice_paid` is not a notification your role (dispatcher) receives",
        errors: [{ field: "email[1]", message: "`invoice_paid` is not a notification your role (dispatcher) receives" }],
      }),
    );
    await user.click(await screen.findByRole("button", { name: "Save changes" }));
    const paid = await screen.findByRole("checkbox", { name: "an invoice is paid" });
    await waitFor(() => expect(paid.getAttribute("aria-invalid")).toBe("true"));
    expect(paid.getAttribute("aria-describedby")).toBe("notify-invoice_paid-error");
    expect(document.getElementById("notify-invoice_paid-error")?.textContent).toContain("is not a notification your role");
    expect(screen.getByRole("checkbox", { name: "a client approves a quote" }).getAttribute("aria-invalid")).toBeNull();
  });
});
