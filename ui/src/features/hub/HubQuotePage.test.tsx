import { describe, expect, it, vi } from "vitest";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter, Route, Routes } from "react-router";
import { HubQuotePage } from "./HubQuotePage";

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": status >= 400 ? "application/problem+json" : "application/json" } });

const context = {
  business: { name: "Meadow Lane", brand_color: "#2E7D32", logo_url: null, phone: null, email: null, website: null, currency: "USD", locale: "en-US", time_zone: "America/Chicago" },
  client: { name: "Rosa Reyes", phones: [] },
  stripe_publishable_key: null,
};
const line = (id: string, name: string, price: number, optional = false) => ({
  id, name, description: null, quantity: 1, unit_price: price, line_total: price, taxable: false, optional, selected: !optional, catalog_item_id: null,
});
const quote = {
  id: "q1", number: "Q-1", client_id: "c1", title: "Garden", message: null, status: "sent", lines: [line("l1", "Mulch", 10000), line("l2", "Irrigation", 5000, true)],
  taxes: [], currency: "USD", subtotal: 10000, discount_total: 0, tax_total: 0, total: 10000, deposit_amount: 0, approval: null, version: 3,
};

function renderAt(url: string) {
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <MemoryRouter initialEntries={[url]}>
        <Routes>
          <Route path="/hub/quotes/:id" element={<HubQuotePage />} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe("the hub's quote page", () => {
  it("shows the server's totals for the ticked options, never its own sum", async () => {
    const previews: unknown[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (request: Request) => {
        const url = new URL(request.url);
        if (url.pathname.endsWith("/context")) return json(context);
        if (url.pathname.endsWith("/preview")) {
          previews.push(await request.json());
          // Not 15000: the page must show what the server says.
          return json({ taxes: [], subtotal: 15123, discount_total: 0, tax_total: 0, total: 15123, deposit_amount: 0 });
        }
        return json(quote);
      }),
    );
    renderAt("/hub/quotes/q1?account=a1&expires=1900000000&sig=s");
    expect(await screen.findByRole("heading", { name: "Garden" })).toBeInTheDocument();
    await userEvent.click(screen.getByRole("checkbox", { name: /Irrigation/ }));
    expect(await screen.findByText("Approve this quote ($151.23)")).toBeInTheDocument();
    expect(previews).toEqual([{ selected_optional_line_ids: ["l2"] }]);
  });

  it("offers a fresh link when the link has expired", async () => {
    const asked: unknown[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (request: Request) => {
        if (request.url.includes("/api/v1/hub/links")) {
          asked.push(await request.json());
          return new Response(null, { status: 202 });
        }
        return json({ status: 410, code: "link_expired", detail: "expired", title: "expired" }, 410);
      }),
    );
    renderAt("/hub/quotes/q1?account=a1&expires=1000&sig=s");
    expect(await screen.findByRole("heading", { name: "This link has expired" })).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Email me a fresh link" }));
    expect(await screen.findByText(/a fresh link is on its way/)).toBeInTheDocument();
    expect(asked).toEqual([{ kind: "quote", id: "q1", account: "a1" }]);
  });
});
