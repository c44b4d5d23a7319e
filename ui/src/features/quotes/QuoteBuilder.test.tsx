import { afterEach, describe, expect, it, vi } from "vitest";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter, Route, Routes } from "react-router";
import { QuoteEdit, QuoteNew } from "./QuoteBuilder";

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": status >= 400 ? "application/problem+json" : "application/json" } });

const totals = (total: number, extra: Partial<Record<string, unknown>> = {}) => ({
  taxes: [{ name: "State tax", rate: "8.875", rate_bps: 888, amount: 111 }],
  subtotal: 1000,
  discount_total: 0,
  tax_total: 111,
  total,
  deposit_amount: 0,
  ...extra,
});

const rates = [
  { id: "t1", name: "State tax", rate: "8.875", rate_bps: 888, is_default: true, active: true, created_at: "", updated_at: "", version: 1 },
  { id: "t2", name: "City tax", rate: "0.5", rate_bps: 50, is_default: false, active: true, created_at: "", updated_at: "", version: 1 },
];

const quote = {
  id: "q1",
  number: "Q-7",
  client_id: "c1",
  property_id: null,
  title: "Spring cleanup",
  message: null,
  status: "draft",
  allowed_actions: ["edit", "send", "archive"],
  lines: [{ id: "l1", position: 0, catalog_item_id: null, name: "Mowing", description: null, quantity: 2, unit_price: 4500, taxable: true, optional: false, selected: true, line_total: 9000 }],
  discount: null,
  deposit: null,
  taxes: [{ name: "State tax", rate: "8.875", rate_bps: 888, amount: 799 }],
  currency: "USD",
  subtotal: 9000,
  discount_total: 0,
  tax_total: 799,
  total: 9799,
  deposit_amount: 0,
  version: 3,
  created_at: "2026-12-01T10:00:00Z",
  updated_at: "2026-12-01T10:00:00Z",
};

type Handler = (body: Record<string, unknown>) => Response;

function serve({ preview, save, saved }: { preview: Handler; save?: Handler; saved?: () => unknown }) {
  const previews: Record<string, unknown>[] = [];
  const fetch = vi.fn(async (request: Request) => {
    const url = new URL(request.url);
    if (request.method === "POST" && url.pathname === "/api/v1/quotes/preview") {
      const body = (await request.json()) as Record<string, unknown>;
      previews.push(body);
      return preview(body);
    }
    if ((request.method === "POST" && url.pathname === "/api/v1/quotes") || (request.method === "PUT" && url.pathname === "/api/v1/quotes/q1")) {
      return save!((await request.json()) as Record<string, unknown>);
    }
    if (url.pathname === "/api/v1/quotes/q1") return json(200, saved?.() ?? quote);
    if (url.pathname === "/api/v1/settings/tax-rates") return json(200, rates);
    if (url.pathname === "/api/v1/clients") return json(200, { items: [{ id: "c1", display_name: "Marguerite Quill" }], next_cursor: null });
    if (url.pathname === "/api/v1/clients/c1/properties") return json(200, { items: [], next_cursor: null });
    if (url.pathname === "/api/v1/catalog") return json(200, { items: [], next_cursor: null });
    return json(404, { status: 404, code: "not_found", detail: "no" });
  });
  vi.stubGlobal("fetch", fetch);
  return previews;
}

function renderAt(path: string) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[path]}>
        <Routes>
          <Route path="/quotes/new" element={<QuoteNew />} />
          <Route path="/quotes/:id/edit" element={<QuoteEdit />} />
          <Route path="/quotes/:id" element={<p>Saved quote page</p>} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

afterEach(() => vi.unstubAllGlobals());

// Typing through the debounce takes a few seconds on a busy machine.
describe("Quote builder", { timeout: 30_000 }, () => {
  it("shows the totals the server works out, never its own sums", async () => {
    const user = userEvent.setup();
    // Deliberately not 2 × 45.00 + tax: the screen must show what the server says.
    const previews = serve({
      preview: (body) => json(200, { currency: "USD", lines: (body.lines as unknown[]).map(() => ({ line_total: 4242, optional: false, selected: true })), totals: totals(12345), with_all_optional: totals(12345) }),
    });
    renderAt("/quotes/new");
    const item = await screen.findByLabelText("Item 1");
    await user.type(item, "Mowing");
    await user.clear(screen.getByLabelText("Quantity"));
    await user.type(screen.getByLabelText("Quantity"), "2");
    await user.type(screen.getByLabelText("Unit price (USD)"), "45");
    await waitFor(() => expect(screen.getByTestId("quote-total")).toHaveTextContent("$123.45"));
    await waitFor(() => expect(screen.getByLabelText("Line 1 total")).toHaveTextContent("$42.42"));
    const last = previews[previews.length - 1]!;
    expect(last).toMatchObject({ lines: [{ name: "Mowing", quantity: 2, unit_price: 4500, taxable: true, optional: false }], tax_rate_ids: ["t1"], discount: null, deposit: null });
    // A discount and a deposit are sent as the API's units (basis points, minor units).
    await user.selectOptions(screen.getByLabelText("Discount"), "percent");
    await user.type(screen.getByLabelText("Discount (%)"), "12.5");
    await user.selectOptions(screen.getByLabelText("Deposit"), "amount");
    await user.type(screen.getByLabelText("Deposit (USD)"), "20");
    await user.click(screen.getByLabelText("City tax (0.5%)"));
    await waitFor(() =>
      expect(previews[previews.length - 1]).toMatchObject({ discount: { kind: "percent", value: 1250 }, deposit: { kind: "amount", value: 2000 }, tax_rate_ids: ["t1", "t2"] }),
    );
  });

  it("marks optional items and shows the total with them, from the server", async () => {
    const user = userEvent.setup();
    const previews = serve({
      preview: () => json(200, { currency: "USD", lines: [{ line_total: 1000 }, { line_total: 500 }], totals: totals(1111), with_all_optional: totals(1666) }),
    });
    renderAt("/quotes/new");
    await user.type(await screen.findByLabelText("Item 1"), "Mowing");
    await user.type(screen.getByLabelText("Unit price (USD)"), "10");
    await user.click(screen.getByRole("button", { name: "Add a line" }));
    await user.type(screen.getByLabelText("Item 2"), "Aeration");
    await user.type(screen.getAllByLabelText("Unit price (USD)")[1]!, "5");
    const optional = screen.getAllByLabelText("Optional (the client may add it)")[1]!;
    await user.click(optional);
    await waitFor(() => expect((previews[previews.length - 1]!.lines as { optional: boolean }[]).map((l) => l.optional)).toEqual([false, true]));
    await waitFor(() => expect(screen.getByText("With every optional item")).toBeInTheDocument());
    expect(screen.getByText("$16.66")).toBeInTheDocument();
    expect(screen.getByTestId("quote-total")).toHaveTextContent("$11.11");
    const sent = previews[previews.length - 1]!.lines as { name: string; optional: boolean }[];
    expect(sent.map((l) => [l.name, l.optional])).toEqual([
      ["Mowing", false],
      ["Aeration", true],
    ]);
  });

  it("shows the server's field errors at their fields: a line's from the preview, the title's on save", async () => {
    const user = userEvent.setup();
    let saved: Record<string, unknown> | undefined;
    serve({
      preview: (body) =>
        (body.lines as { unit_price: number | null }[]).some((l) => l.unit_price === 99999999999)
          ? json(422, { status: 422, code: "validation_failed", detail: "lines[0].unit_price: is too large", errors: [{ field: "lines[0].unit_price", message: "is too large" }] })
          : json(200, { currency: "USD", lines: [{ line_total: 100 }], totals: totals(100), with_all_optional: totals(100) }),
      save: (body) => {
        saved = body;
        return json(422, { status: 422, code: "validation_failed", detail: "title: is too long", errors: [{ field: "title", message: "is too long" }] });
      },
    });
    renderAt("/quotes/new?client_id=c1");
    await user.type(await screen.findByLabelText("Item 1"), "Gold-plated mower");
    await user.type(screen.getByLabelText("Unit price (USD)"), "999999999.99");
    const price = screen.getByLabelText("Unit price (USD)");
    await waitFor(() => expect(price).toHaveAttribute("aria-invalid", "true"));
    expect(price).toHaveAccessibleDescription("Is too large");
    expect(screen.getByText("Correct the marked fields to see the totals.")).toBeInTheDocument();

    await user.clear(price);
    await user.type(price, "1");
    await waitFor(() => expect(price).not.toHaveAttribute("aria-invalid"));
    await user.type(screen.getByLabelText("Title"), "Lawn");
    await user.click(screen.getByRole("button", { name: "Save quote" }));
    await waitFor(() => expect(saved).toMatchObject({ client_id: "c1", title: "Lawn", lines: [{ name: "Gold-plated mower", unit_price: 100 }] }));
    const title = screen.getByLabelText("Title");
    await waitFor(() => expect(title).toHaveAttribute("aria-invalid", "true"));
    expect(title).toHaveAccessibleDescription("Is too long");
  });

  it("a stale save says who changed which part of the quote, and saves over it only when asked", async () => {
    const user = userEvent.setup();
    const sent: Record<string, unknown>[] = [];
    const theirs = {
      ...quote,
      version: 4,
      lines: [{ ...quote.lines[0]!, quantity: 3, line_total: 13500 }],
      updated_at: "2026-01-15T15:42:00Z",
    };
    serve({
      preview: () => json(200, { currency: "USD", lines: [{ line_total: 9000 }], totals: totals(9799), with_all_optional: totals(9799) }),
      save: (body) => {
        sent.push(body);
        return body.version === 3
          ? json(409, {
              status: 409,
              code: "version_conflict",
              detail: "Maria Lopez changed it; the resource is at version 4; reload it and apply your change again",
              current_version: 4,
              updated_at: theirs.updated_at,
              updated_by: { kind: "user", id: "u2", name: "Maria Lopez" },
            })
          : json(200, { ...theirs, title: body.title, version: 5 });
      },
      saved: () => (sent.length > 0 ? theirs : quote),
    });
    renderAt("/quotes/q1/edit");
    const title = await screen.findByLabelText("Title");
    expect(title).toHaveValue("Spring cleanup");
    await user.type(title, " and mulch");
    await user.click(screen.getByRole("button", { name: "Save changes" }));
    await waitFor(() => expect(sent[0]).toMatchObject({ version: 3, title: "Spring cleanup and mulch", tax_rate_ids: ["t1"] }));

    const notice = await screen.findByRole("region", { name: /^Maria Lopez changed this quote on / });
    const row = await within(notice).findByRole("row", { name: /Line items/ });
    expect(row).toHaveTextContent("2 × Mowing at 45.00");
    expect(row).toHaveTextContent("3 × Mowing at 45.00");
    expect(within(notice).getAllByRole("row")).toHaveLength(2);
    expect(within(screen.getByRole("form", { name: "Edit quote" })).getByRole("button", { name: "Save changes" })).toBeDisabled();

    await user.click(within(notice).getByRole("button", { name: "Save mine over theirs" }));
    await waitFor(() => expect(sent).toHaveLength(2));
    expect(sent[1]).toMatchObject({ version: 4, title: "Spring cleanup and mulch" });
    expect(await screen.findByText("Saved quote page")).toBeInTheDocument();
  });
});
