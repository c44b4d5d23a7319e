import { afterEach, describe, expect, it, vi } from "vitest";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter, Route, Routes } from "react-router";
import { JobEdit } from "./JobEdit";

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": status >= 400 ? "application/problem+json" : "application/json" } });

const job = {
  id: "j1",
  number: 12,
  client_id: "c1",
  property_id: null,
  title: "Spring cleanup",
  instructions: "Gate code 4411",
  billing: "on_completion",
  status: "active",
  version: 3,
  total: 15000,
  created_at: "2026-12-01T10:00:00Z",
  visits: [],
  lines: [
    { id: "l1", position: 0, catalog_item_id: "cat1", name: "Mulch", description: "Two yards, brown", quantity: 2, unit_price: 4500, taxable: true, line_total: 9000 },
    { id: "l2", position: 1, catalog_item_id: null, name: "Haul away", description: null, quantity: 1, unit_price: 6000, taxable: false, line_total: 6000 },
  ],
};

function serve(onPut: (body: Record<string, unknown>) => Response) {
  const fetch = vi.fn(async (request: Request) => {
    const url = new URL(request.url);
    if (url.pathname === "/api/v1/jobs/j1" && request.method === "PUT") return onPut((await request.json()) as Record<string, unknown>);
    if (url.pathname === "/api/v1/jobs/j1") return json(200, job);
    return json(404, { status: 404, code: "not_found", detail: "no" });
  });
  vi.stubGlobal("fetch", fetch);
  return fetch;
}

function renderForm() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={["/jobs/j1/edit"]}>
        <Routes>
          <Route path="/jobs/:id/edit" element={<JobEdit />} />
          <Route path="/jobs/:id" element={<p>The job page</p>} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

afterEach(() => vi.unstubAllGlobals());

describe("Edit job", () => {
  it("sends every line back with what the form does not show, and the version it started from", async () => {
    const user = userEvent.setup();
    let sent: Record<string, unknown> | undefined;
    serve((body) => {
      sent = body;
      return json(200, { ...job, version: 4 });
    });
    renderForm();
    const title = await screen.findByLabelText("Title");
    expect(title).toHaveValue("Spring cleanup");
    expect(screen.getByLabelText("Item 1")).toHaveValue("Mulch");
    await user.clear(title);
    await user.type(title, "Spring cleanup and mulch");
    const prices = screen.getAllByLabelText(/Unit price/);
    expect(prices[0]).toHaveValue("45.00");
    await user.clear(prices[0]!);
    await user.type(prices[0]!, "47.50");
    await user.click(screen.getByRole("button", { name: "Remove item 2" }));
    await user.click(screen.getByRole("button", { name: "Save changes" }));

    await waitFor(() => expect(sent).toBeDefined());
    expect(sent).toEqual({
      title: "Spring cleanup and mulch",
      instructions: "Gate code 4411",
      billing: "on_completion",
      version: 3,
      lines: [{ catalog_item_id: "cat1", description: "Two yards, brown", taxable: true, name: "Mulch", quantity: 2, unit_price: 4750 }],
    });
    expect(await screen.findByText("The job page")).toBeInTheDocument();
  });

  it("offers a reload instead of overwriting someone else's change", async () => {
    const user = userEvent.setup();
    serve(() => json(409, { status: 409, code: "version_conflict", detail: "The job changed; reload it" }));
    renderForm();
    await user.type(await screen.findByLabelText("Instructions"), " (dog in the yard)");
    await user.click(screen.getByRole("button", { name: "Save changes" }));
    expect(await screen.findByRole("button", { name: "Reload the job" })).toBeInTheDocument();
    expect(screen.getByRole("alert")).toHaveTextContent("Someone else changed this job");
    expect(screen.getByRole("button", { name: "Save changes" })).toBeDisabled();
  });
});
