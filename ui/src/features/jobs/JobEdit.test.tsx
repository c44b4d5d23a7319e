import { afterEach, describe, expect, it, vi } from "vitest";
import { render, screen, waitFor, within } from "@testing-library/react";
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

// Typing into several fields takes seconds on a busy machine.
describe("Edit job", { timeout: 20_000 }, () => {
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

  it("a stale save says who changed what, and saves over theirs only when asked", async () => {
    const user = userEvent.setup();
    const theirs = { ...job, instructions: "Gate code 9090", version: 4, updated_at: "2026-12-01T10:42:00Z" };
    const puts: Record<string, unknown>[] = [];
    let saved = false;
    const fetch = vi.fn(async (request: Request) => {
      const url = new URL(request.url);
      if (url.pathname === "/api/v1/jobs/j1" && request.method === "PUT") {
        const body = (await request.json()) as Record<string, unknown>;
        puts.push(body);
        if (body.version === 3)
          return json(409, {
            status: 409,
            code: "version_conflict",
            detail: "Maria Lopez changed it; the resource is at version 4; reload it and apply your change again",
            current_version: 4,
            updated_at: theirs.updated_at,
            updated_by: { kind: "user", id: "u2", name: "Maria Lopez" },
          });
        return json(200, { ...theirs, title: body.title, version: 5 });
      }
      // The page loads version 3; after the conflict, the saved job is theirs.
      if (url.pathname === "/api/v1/jobs/j1") return json(200, puts.length > 0 || saved ? theirs : job);
      return json(404, { status: 404, code: "not_found", detail: "no" });
    });
    vi.stubGlobal("fetch", fetch);
    renderForm();
    const title = await screen.findByLabelText("Title");
    await user.clear(title);
    await user.type(title, "Spring cleanup, back yard");
    await user.click(screen.getByRole("button", { name: "Save changes" }));

    const notice = await screen.findByRole("region", { name: /Maria Lopez changed this job/ });
    // Only the field Maria changed is listed, with what is typed here and what she saved.
    const table = await within(notice).findByRole("table", { name: /Fields changed/ });
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toHaveTextContent("Instructions");
    expect(rows[0]).toHaveTextContent("Gate code 4411");
    expect(rows[0]).toHaveTextContent("Gate code 9090");
    expect(screen.getByRole("button", { name: "Save changes" })).toBeDisabled();
    expect(puts).toHaveLength(1);

    // Saving over theirs is explicit: the same form, on their version.
    saved = true;
    await user.click(within(notice).getByRole("button", { name: "Save mine over theirs" }));
    await waitFor(() => expect(puts).toHaveLength(2));
    expect(puts[1]).toMatchObject({ title: "Spring cleanup, back yard", instructions: "Gate code 4411", version: 4 });
    expect(await screen.findByText("The job page")).toBeInTheDocument();
  });

  it("reload theirs drops the edit and fills the form with the saved job", async () => {
    const user = userEvent.setup();
    const theirs = { ...job, title: "Spring cleanup (Maria)", version: 4 };
    let conflicted = false;
    vi.stubGlobal(
      "fetch",
      vi.fn(async (request: Request) => {
        const url = new URL(request.url);
        if (url.pathname === "/api/v1/jobs/j1" && request.method === "PUT") {
          conflicted = true;
          return json(409, { status: 409, code: "version_conflict", detail: "changed", current_version: 4, updated_by: { kind: "client" } });
        }
        if (url.pathname === "/api/v1/jobs/j1") return json(200, conflicted ? theirs : job);
        return json(404, { status: 404, code: "not_found", detail: "no" });
      }),
    );
    renderForm();
    const title = await screen.findByLabelText("Title");
    await user.type(title, " and more");
    await user.click(screen.getByRole("button", { name: "Save changes" }));
    const notice = await screen.findByRole("region", { name: "The client changed this job" });
    const reload = within(notice).getByRole("button", { name: "Reload theirs" });
    await waitFor(() => expect(reload).toBeEnabled());
    await user.click(reload);
    expect(screen.queryByRole("region", { name: /changed this job/ })).not.toBeInTheDocument();
    expect(screen.getByLabelText("Title")).toHaveValue("Spring cleanup (Maria)");
    expect(screen.getByRole("button", { name: "Save changes" })).toBeEnabled();
  });
});
