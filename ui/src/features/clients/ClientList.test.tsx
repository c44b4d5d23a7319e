import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter, Route, Routes, useLocation } from "react-router";
import { ClientList } from "./ClientList";

const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } });

const client = (id: string, name: string, status: string, tags: string[]) => ({
  id,
  display_name: name,
  company_name: null,
  status,
  tags,
  emails: [],
  phones: [],
  billing_address: { street1: "", city: "" },
});
const everyone = [
  client("c1", "Ann Lee", "active", ["vip", "spring"]),
  client("c2", "Bo Diaz", "lead", ["vip"]),
  client("c3", "Old Barn Co", "archived", []),
];

function Where() {
  const location = useLocation();
  return <output aria-label="Address">{location.search}</output>;
}

/** The list over a fake API that filters as the server does; the queries it was asked. */
function renderList(initial = "/clients") {
  const asked: URLSearchParams[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (request: Request) => {
      const url = new URL(request.url);
      asked.push(url.searchParams);
      const status = url.searchParams.get("status");
      const tag = url.searchParams.get("tag");
      const items = everyone.filter((c) => (!status || c.status === status) && (!tag || c.tags.includes(tag)));
      return json({ items, next_cursor: null });
    }),
  );
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <MemoryRouter initialEntries={[initial]}>
        <Routes>
          <Route path="/clients" element={<ClientList />} />
        </Routes>
        <Where />
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return asked;
}

const rows = () =>
  within(screen.getByRole("list", { name: "Clients" }))
    .queryAllByRole("listitem")
    .map((li) => li.querySelector(".list__name")?.textContent);

// The list is virtualised: give its scroller a size so rows are drawn.
beforeEach(() => {
  vi.spyOn(HTMLElement.prototype, "clientHeight", "get").mockReturnValue(600);
  vi.spyOn(HTMLElement.prototype, "clientWidth", "get").mockReturnValue(1000);
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe("ClientList filters", () => {
  it("filters by tag and by status on the server, keeps both in the address, and says when none match", async () => {
    const user = userEvent.setup();
    const asked = renderList();
    await waitFor(() => expect(rows()).toEqual(["Ann Lee", "Bo Diaz", "Old Barn Co"]));

    await user.type(screen.getByRole("textbox", { name: "Tag" }), "vip");
    await waitFor(() => expect(rows()).toEqual(["Ann Lee", "Bo Diaz"]));
    expect(asked.at(-1)?.get("tag")).toBe("vip");
    // Typing settles before the list asks: no request for "v" or "vi".
    expect(asked.some((q) => q.get("tag") === "v" || q.get("tag") === "vi")).toBe(false);
    await waitFor(() => expect(screen.getByRole("status", { name: "Address" }).textContent).toBe("?tag=vip"));

    await user.selectOptions(screen.getByRole("combobox", { name: "Status" }), "lead");
    await waitFor(() => expect(rows()).toEqual(["Bo Diaz"]));
    expect(asked.at(-1)?.get("status")).toBe("lead");
    expect(asked.at(-1)?.get("tag")).toBe("vip");
    expect(screen.getByRole("status", { name: "Address" }).textContent).toBe("?tag=vip&status=lead");

    await user.selectOptions(screen.getByRole("combobox", { name: "Status" }), "archived");
    await screen.findByRole("heading", { name: "No clients match" });

    await user.clear(screen.getByRole("textbox", { name: "Tag" }));
    await waitFor(() => expect(rows()).toEqual(["Old Barn Co"]));
    expect(asked.at(-1)?.has("tag")).toBe(false);
    await waitFor(() => expect(screen.getByRole("status", { name: "Address" }).textContent).toBe("?status=archived"), { timeout: 3000 });
  });

  it("opens with the filters of a shared address", async () => {
    const asked = renderList("/clients?status=active&tag=spring");
    await waitFor(() => expect(rows()).toEqual(["Ann Lee"]));
    expect(screen.getByRole("combobox", { name: "Status" })).toHaveValue("active");
    expect(screen.getByRole("textbox", { name: "Tag" })).toHaveValue("spring");
    expect(asked.every((q) => q.get("status") === "active" && q.get("tag") === "spring")).toBe(true);
  });
});
