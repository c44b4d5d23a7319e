import { describe, expect, it, vi } from "vitest";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { ExportPanel } from "./ExportPanel";

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

const exportRow = (status: "pending" | "ready" | "failed", extra: Record<string, unknown> = {}) => ({
  id: "0193e0a0-0000-7000-8000-000000000001",
  kind: "invoices",
  status,
  from: "2026-12-01",
  to: "2026-12-03",
  created_at: "2026-12-03T09:00:00Z",
  expires_at: "2026-12-10T09:00:00Z",
  ...extra,
});

function renderPanel() {
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <ExportPanel range={{ from: "2026-12-01", to: "2026-12-03" }} pollMs={20} />
    </QueryClientProvider>,
  );
}

describe("ExportPanel", () => {
  it("asks for the export, shows progress while it is pending, then offers the download", async () => {
    let polls = 0;
    const posted: unknown[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (request: Request) => {
        const url = new URL(request.url);
        if (request.method === "POST") {
          posted.push(await request.clone().json());
          return json(exportRow("pending"), 202);
        }
        if (url.pathname === "/api/v1/reports/exports") return json([]);
        polls += 1;
        return json(polls < 3 ? exportRow("pending") : exportRow("ready", { url: "/files/export.csv?sig=x", rows: 12, bytes: 2048 }));
      }),
    );
    const user = userEvent.setup();
    renderPanel();
    await user.click(screen.getByRole("button", { name: "Export CSV" }));
    expect(await screen.findByRole("progressbar", { name: "Preparing the CSV file" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Exporting…" })).toBeDisabled();
    const link = await screen.findByRole("link", { name: "Download invoices issued CSV" });
    expect(link).toHaveAttribute("href", "/files/export.csv?sig=x");
    expect(screen.queryByRole("progressbar")).not.toBeInTheDocument();
    expect(screen.getByText(/12 rows, 2\.0 kB/)).toBeInTheDocument();
    await waitFor(() => expect(link).toHaveFocus());
    expect(posted).toEqual([{ kind: "invoices", from: "2026-12-01", to: "2026-12-03" }]);
    expect(polls).toBeGreaterThanOrEqual(3);
  });

  it("says when the export failed, and lets the person try again", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async (request: Request) => {
        const url = new URL(request.url);
        if (request.method === "POST") return json(exportRow("pending"), 202);
        if (url.pathname === "/api/v1/reports/exports") return json([]);
        return json(exportRow("failed", { error: "storage is full" }));
      }),
    );
    const user = userEvent.setup();
    renderPanel();
    await user.selectOptions(screen.getByLabelText("What to export"), "clients");
    await user.click(screen.getByRole("button", { name: "Export CSV" }));
    expect(await screen.findByText(/The export failed: storage is full/)).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Export CSV" })).toBeEnabled();
  });
});
