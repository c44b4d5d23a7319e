import { describe, expect, it, vi } from "vitest";
import { useState } from "react";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter, Route, Routes, useParams } from "react-router";
import { CommandPalette, usePaletteShortcut } from "./CommandPalette";

const hits = {
  items: [
    { kind: "client", id: "c1", number: null, title: "Ann Lindqvist", subtitle: "ann@example.com", status: "active" },
    { kind: "quote", id: "q1", number: "Q-7", title: "Spring cleanup", subtitle: "Ann Lindqvist", status: "sent" },
    { kind: "invoice", id: "i1", number: "INV-3", title: "Deck repair", subtitle: "Ann Lindqvist", status: "sent" },
  ],
};

function Opened({ kind }: { kind: string }) {
  const { id } = useParams();
  return <h1>{`${kind} ${id}`}</h1>;
}

function Shell() {
  const [open, setOpen] = useState(false);
  usePaletteShortcut(() => setOpen((v) => !v));
  return (
    <>
      <Routes>
        <Route path="/" element={<h1>Home</h1>} />
        <Route path="/clients/:id" element={<Opened kind="client" />} />
        <Route path="/quotes/:id" element={<Opened kind="quote" />} />
        <Route path="/invoices/:id" element={<Opened kind="invoice" />} />
        <Route path="/reports" element={<h1>Reports page</h1>} />
      </Routes>
      {open && <CommandPalette onClose={() => setOpen(false)} />}
    </>
  );
}

function setup() {
  const queries: string[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (request: Request) => {
      queries.push(new URL(request.url).searchParams.get("q") ?? "");
      return new Response(JSON.stringify(hits), { status: 200, headers: { "Content-Type": "application/json" } });
    }),
  );
  render(
    <QueryClientProvider client={new QueryClient()}>
      <MemoryRouter>
        <Shell />
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return queries;
}

describe("CommandPalette", () => {
  it("opens with Ctrl-K, finds by name, moves with the arrows and opens with Enter", async () => {
    const queries = setup();
    const user = userEvent.setup();
    await user.keyboard("{Control>}k{/Control}");
    const box = await screen.findByRole("combobox", { name: "Search clients, quotes, jobs and invoices" });
    expect(box).toHaveFocus();
    await user.type(box, "lind");
    const client = await screen.findByRole("option", { name: /^Ann Lindqvist/ });
    await waitFor(() => expect(queries).toContain("lind"));
    // The first result is active and announced through aria-activedescendant.
    expect(client).toHaveAttribute("aria-selected", "true");
    expect(box).toHaveAttribute("aria-activedescendant", client.id);
    expect(box).toHaveAttribute("aria-expanded", "true");
    expect(screen.getByRole("listbox")).toHaveAttribute("id", box.getAttribute("aria-controls"));

    await user.keyboard("{ArrowDown}");
    const quote = screen.getByRole("option", { name: /#Q-7 Spring cleanup/ });
    expect(quote).toHaveAttribute("aria-selected", "true");
    expect(client).toHaveAttribute("aria-selected", "false");
    expect(box).toHaveAttribute("aria-activedescendant", quote.id);
    // Up from the first wraps to the last; down from the last wraps to the first.
    await user.keyboard("{ArrowUp}{ArrowUp}");
    const options = screen.getAllByRole("option");
    expect(options[options.length - 1]).toHaveAttribute("aria-selected", "true");
    await user.keyboard("{ArrowDown}{ArrowDown}");
    expect(quote).toHaveAttribute("aria-selected", "true");

    await user.keyboard("{Enter}");
    expect(await screen.findByRole("heading", { name: "quote q1" })).toBeInTheDocument();
    expect(screen.queryByRole("combobox")).not.toBeInTheDocument();
  });

  it("offers the app's pages, and closes with Escape or Ctrl-K without going anywhere", async () => {
    setup();
    const user = userEvent.setup();
    await user.keyboard("{Control>}k{/Control}");
    const box = await screen.findByRole("combobox");
    await user.type(box, "csv");
    const reports = await screen.findByRole("option", { name: /^Reports/ });
    await user.click(reports);
    expect(await screen.findByRole("heading", { name: "Reports page" })).toBeInTheDocument();

    await user.keyboard("{Meta>}k{/Meta}");
    const again = await screen.findByRole("combobox");
    fireEvent(again.closest("dialog")!, new Event("cancel", { cancelable: true }));
    await waitFor(() => expect(screen.queryByRole("combobox")).not.toBeInTheDocument());
    await user.keyboard("{Control>}k{/Control}");
    await screen.findByRole("combobox");
    await user.keyboard("{Control>}k{/Control}");
    await waitFor(() => expect(screen.queryByRole("combobox")).not.toBeInTheDocument());
    expect(screen.getByRole("heading", { name: "Reports page" })).toBeInTheDocument();
  });
});
