import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter, Route, Routes, useLocation } from "react-router";
import { Dashboard } from "./Dashboard";
import { InvoiceList } from "../invoices/InvoiceList";
import { QuoteList } from "../quotes/QuoteList";

const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } });

const dashboard = {
  date: "2026-12-04",
  currency: "USD",
  todays_visits: 3,
  visits_to_invoice: 1,
  jobs_to_invoice: 2,
  overdue_invoices: 1,
  overdue_amount: 5000,
  receivables: 13500,
  revenue_this_month: 4000,
  revenue_last_month: 2000,
  quotes_awaiting_response: 2,
  quote_conversion_bps: 5000,
};

const invoice = {
  id: "i1", number: "INV-7", title: "Gutter cleaning", status: "sent", past_due: true, due_date: "2026-11-01",
  total: 5000, balance: 5000, currency: "USD",
};
const quotes = [
  { id: "q2", number: "Q-2", title: "Fence repair", status: "changes_requested", total: 9000, currency: "USD", created_at: "2026-12-01T15:00:00Z", valid_until: null },
  { id: "q1", number: "Q-1", title: "Hedge trimming", status: "sent", total: 4500, currency: "USD", created_at: "2026-11-30T15:00:00Z", valid_until: "2026-12-30" },
];

function Where() {
  const location = useLocation();
  return <output aria-label="Address">{location.pathname + location.search}</output>;
}

/** The dashboard and the lists its figures open; the list calls the API made. */
function renderApp() {
  const calls: URL[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (request: Request) => {
      const url = new URL(request.url);
      calls.push(url);
      if (url.pathname === "/api/v1/reports/dashboard") return json(dashboard);
      if (url.pathname === "/api/v1/invoices") return json({ items: [invoice], next_cursor: null });
      if (url.pathname === "/api/v1/quotes") return json({ items: quotes, next_cursor: null });
      return new Response(null, { status: 404 });
    }),
  );
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  client.setQueryData(["session"], { user: { id: "me", name: "Olive Owner", email: "olive@example.com", role: "owner" }, account: {}, csrf_token: "t" });
  render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={["/"]}>
        <Routes>
          <Route path="/" element={<Dashboard />} />
          <Route path="/invoices" element={<InvoiceList />} />
          <Route path="/quotes" element={<QuoteList />} />
        </Routes>
        <Where />
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return calls;
}

// The lists are virtualised: give their scroller a size so rows are drawn.
beforeEach(() => {
  vi.spyOn(HTMLElement.prototype, "clientHeight", "get").mockReturnValue(600);
  vi.spyOn(HTMLElement.prototype, "clientWidth", "get").mockReturnValue(1000);
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe("Dashboard", () => {
  it("links every figure to the list behind it, filtered as the figure counts", async () => {
    renderApp();
    const link = async (name: RegExp) => (await screen.findByRole("link", { name })).getAttribute("href");
    expect(await link(/^Visits today/)).toBe("/schedule?view=day&date=2026-12-04");
    expect(await link(/^Ready to invoice/)).toBe("/invoices/ready");
    expect(await link(/^Overdue invoices/)).toBe("/invoices?status=past_due");
    expect(await link(/^Quotes awaiting reply/)).toBe("/quotes?status=sent,changes_requested");
    expect(await link(/^Aging/)).toBe("/invoices/aging");
    expect(await link(/^Won quotes/)).toBe("/quotes?status=approved,converted");
    expect(await link(/^Revenue report/)).toBe("/reports");
  });

  it("opens the invoices past due: the list asks the API for past_due and shows the filter", async () => {
    const calls = renderApp();
    await userEvent.setup().click(await screen.findByRole("link", { name: /^Overdue invoices/ }));
    await screen.findByRole("link", { name: /INV-7 Gutter cleaning/ });
    expect(screen.getByRole("combobox", { name: "Status" })).toHaveValue("past_due");
    expect(screen.getByRole("option", { name: "Past due" })).toHaveProperty("selected", true);
    const asked = calls.filter((u) => u.pathname === "/api/v1/invoices");
    expect(asked.length).toBeGreaterThan(0);
    for (const url of asked) {
      expect(url.searchParams.get("past_due")).toBe("true");
      expect(url.searchParams.has("status")).toBe(false);
    }
  });

  it("opens the quotes awaiting a reply: sent or with changes requested", async () => {
    const calls = renderApp();
    await userEvent.setup().click(await screen.findByRole("link", { name: /^Quotes awaiting reply/ }));
    await screen.findByRole("link", { name: /Q-2 Fence repair/ });
    expect(screen.getByRole("combobox", { name: "Status" })).toHaveValue("sent,changes_requested");
    expect(screen.getByRole("option", { name: "Sent or changes requested" })).toHaveProperty("selected", true);
    await waitFor(() => expect(calls.some((u) => u.pathname === "/api/v1/quotes")).toBe(true));
    for (const url of calls.filter((u) => u.pathname === "/api/v1/quotes")) expect(url.searchParams.get("status")).toBe("sent,changes_requested");
    // Choosing one status narrows it; the address follows.
    await userEvent.setup().selectOptions(screen.getByRole("combobox", { name: "Status" }), "changes_requested");
    await waitFor(() => expect(screen.getByRole("status", { name: "Address" }).textContent).toBe("/quotes?status=changes_requested"));
  });
});
