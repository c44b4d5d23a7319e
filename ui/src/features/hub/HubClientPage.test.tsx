import { describe, expect, it, vi } from "vitest";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter, Route, Routes } from "react-router";
import { HubClientPage } from "./HubClientPage";

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": status >= 400 ? "application/problem+json" : "application/json" } });

const page = {
  business: { name: "Meadow Lane", brand_color: "#2E7D32", logo_url: null, phone: null, email: null, website: null, currency: "USD", locale: "en-US", time_zone: "America/Chicago" },
  client: { name: "Rosa Reyes", phones: [] },
  quotes: [{ id: "q1", number: "7", title: "Garden", status: "sent", total: 45000, currency: "USD", sent_at: null, valid_until: null, link: "/hub/quotes/q1?account=a1&expires=1900000000&sig=q" }],
  invoices: [
    { id: "i1", number: "12", title: "Fall cleanup", status: "partially_paid", past_due: false, due_date: "2026-12-20", total: 35500, balance: 15500, currency: "USD", link: "/hub/invoices/i1?account=a1&expires=1900000000&sig=i" },
  ],
  receipts: [{ id: "p1", paid_at: "2026-12-01T15:00:00Z", method: "cash", status: "succeeded", amount: 20000, tip: 0, refunded: 0, invoice_number: "12", invoice_link: "/hub/invoices/i1?x" }],
  visits: [{ id: "v1", title: "Hedges", starts_at: "2026-12-10T15:00:00Z", ends_at: "2026-12-10T16:30:00Z", anytime: false, status: "scheduled", address: "7 Birch Lane" }],
  services: [{ id: "s1", name: "Lawn aeration", description: null }],
  properties: [
    { id: "h1", name: "Home", address: "7 Birch Lane" },
    { id: "h2", name: "Cabin", address: "1 Lake Road" },
  ],
};

function renderAt(url: string) {
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <MemoryRouter initialEntries={[url]}>
        <Routes>
          <Route path="/hub/clients/:id" element={<HubClientPage />} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe("the client's hub page", () => {
  it("lists what is to pay, visits, quotes and receipts", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => json(page)));
    renderAt("/hub/clients/c1?account=a1&expires=1900000000&sig=s");
    expect(await screen.findByRole("heading", { name: "Hello, Rosa Reyes" })).toBeInTheDocument();
    expect(screen.getByText("1 quote awaits your approval · 1 invoice is open")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Pay invoice 12" })).toHaveAttribute("href", page.invoices[0]!.link);
    expect(screen.getByRole("link", { name: /7 · Garden/ })).toHaveAttribute("href", page.quotes[0]!.link);
    expect(screen.getByText("Hedges")).toBeInTheDocument();
    expect(screen.getByText("$155.00 left")).toBeInTheDocument();
  });

  it("sends a request for more work and shows the server's field errors", async () => {
    const sent: unknown[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (request: Request) => {
        if (request.method === "POST") {
          const body = await request.json();
          sent.push(body);
          if (sent.length === 1) {
            return json({ status: 422, code: "validation_failed", title: "invalid", detail: "invalid", errors: [{ field: "property_id", message: "is not one of your properties" }] }, 422);
          }
          return json({ id: "r1", message: "Thank you" }, 201);
        }
        return json(page);
      }),
    );
    renderAt("/hub/clients/c1?account=a1&expires=1900000000&sig=s");
    await screen.findByRole("heading", { name: "Request more work" });
    await userEvent.selectOptions(screen.getByLabelText("Service (optional)"), "Lawn aeration");
    await userEvent.selectOptions(screen.getByLabelText("Where"), "Cabin: 1 Lake Road");
    await userEvent.type(screen.getByLabelText("What do you need?"), "Aerate the lawn");
    await userEvent.click(screen.getByRole("button", { name: "Send my request" }));
    expect(await screen.findByText("Is not one of your properties")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Send my request" }));
    expect(await screen.findByRole("heading", { name: "Your request was sent" })).toBeInTheDocument();
    expect(sent[1]).toEqual({ details: "Aerate the lawn", service_id: "s1", property_id: "h2" });
  });

  it("shows an expired link in the business's colours and offers a fresh one, never asking for an address", async () => {
    const calls: string[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (request: Request) => {
        const url = new URL(request.url);
        calls.push(`${request.method} ${url.pathname}${url.search}`);
        if (url.pathname === "/api/v1/hub/brand") return json({ ...page.business, brand_color: "#123456" });
        if (request.method === "POST") return new Response(null, { status: 202 });
        return json({ status: 410, code: "link_expired", title: "expired", detail: "this link has expired" }, 410);
      }),
    );
    renderAt("/hub/clients/c1?account=a1&expires=1000&sig=s");
    expect(await screen.findByRole("heading", { name: "This link has expired" })).toBeInTheDocument();
    expect(await screen.findByText("Meadow Lane")).toBeInTheDocument();
    expect(screen.getByText(/address Meadow Lane has on file/)).toBeInTheDocument();
    expect(screen.queryByRole("textbox")).toBeNull();
    expect(calls).toContain("GET /api/v1/hub/brand?kind=client&id=c1&account=a1&expires=1000&sig=s");
    await userEvent.click(screen.getByRole("button", { name: "Email me a fresh link" }));
    expect(await screen.findByText(/a fresh link is on its way/)).toBeInTheDocument();
    expect(calls).toContain("POST /api/v1/hub/client-links");
  });

  it("keeps a damaged link's page plain", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async () => json({ status: 404, code: "client_not_found", title: "not found", detail: "no such client" }, 404)),
    );
    renderAt("/hub/clients/c1?account=a1&expires=1000&sig=broken");
    expect(await screen.findByRole("heading", { name: "This link does not work" })).toBeInTheDocument();
    expect(screen.getByText("Client hub")).toBeInTheDocument();
    expect(screen.getByText(/address the business has on file/)).toBeInTheDocument();
  });
});
