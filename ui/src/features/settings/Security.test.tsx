import { afterEach, describe, expect, it, vi } from "vitest";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter, Route, Routes } from "react-router";
import { deviceName, Security } from "./Security";

const json = (status: number, body: unknown) =>
  new Response(body === null ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": status >= 400 ? "application/problem+json" : "application/json" },
  });

const chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
const sessions = {
  sessions: [
    { id: "s1", kind: "cookie", created_at: "2026-12-01T15:00:00Z", last_seen_at: "2026-12-03T15:00:00Z", user_agent: chrome, ip: "10.0.0.2", current: true },
    { id: "s2", kind: "cookie", created_at: "2026-11-20T15:00:00Z", last_seen_at: "2026-11-21T15:00:00Z", user_agent: iphone, ip: "10.0.0.9", current: false },
  ],
};

function renderPage(routes: (request: Request, url: URL) => Response | undefined | Promise<Response | undefined>) {
  const calls: string[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (request: Request) => {
      const url = new URL(request.url);
      calls.push(`${request.method} ${url.pathname}`);
      return (await routes(request, url)) ?? json(404, { status: 404, code: "not_found", detail: "no" });
    }),
  );
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  client.setQueryData(["session"], { user: { id: "me", name: "Olive Owner", email: "olive@example.com", role: "owner" }, account: {}, csrf_token: "t" });
  render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={["/settings/security"]}>
        <Routes>
          <Route path="/settings/security" element={<Security />} />
          <Route path="/sign-in" element={<h1>Sign in</h1>} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return calls;
}

afterEach(() => vi.unstubAllGlobals());

describe("deviceName", () => {
  it("names the browser and system of a User-Agent", () => {
    expect(deviceName(chrome)).toBe("Chrome on Linux");
    expect(deviceName(iphone)).toBe("Safari on iOS");
    expect(deviceName(null)).toBe("Unknown browser");
    expect(deviceName("curl/8.5.0")).toBe("curl/8.5.0");
  });
});

describe("Your sign-in", () => {
  it("sets up two-step verification with the app's code and shows the recovery codes once", async () => {
    const user = userEvent.setup();
    let enabled = false;
    const sent: unknown[] = [];
    renderPage(async (request, url) => {
      if (url.pathname === "/api/v1/auth/totp") return json(200, { enabled, pending: false, recovery_codes_left: enabled ? 10 : 0 });
      if (url.pathname === "/api/v1/auth/totp/setup") return json(200, { secret: "JBSWY3DPEHPK3PXP", otpauth_url: "otpauth://totp/jobber:olive?secret=JBSWY3DPEHPK3PXP" });
      if (url.pathname === "/api/v1/auth/totp/enable") {
        // The first code is wrong (422 naming `code`), the second right.
        sent.push(await request.json());
        if (sent.length === 1) {
          return json(422, { status: 422, code: "validation_failed", detail: "invalid", errors: [{ field: "code", message: "is not the current code" }] });
        }
        enabled = true;
        return json(200, { recovery_codes: ["aaaa-bbbb", "cccc-dddd"] });
      }
      if (url.pathname === "/api/v1/auth/sessions") return json(200, sessions);
      return undefined;
    });

    await user.click(await screen.findByRole("button", { name: "Set up two-step verification" }));
    expect(await screen.findByLabelText("Setup key")).toHaveValue("JBSW Y3DP EHPK 3PXP");
    expect(screen.getByRole("link", { name: "this setup link" })).toHaveAttribute("href", "otpauth://totp/jobber:olive?secret=JBSWY3DPEHPK3PXP");
    await user.type(screen.getByLabelText("The 6-digit code your app shows"), "123456");
    await user.click(screen.getByRole("button", { name: "Turn on" }));
    expect(await screen.findByText("Is not the current code")).toBeInTheDocument();
    await user.clear(screen.getByLabelText("The 6-digit code your app shows"));
    await user.type(screen.getByLabelText("The 6-digit code your app shows"), "654321");
    await user.click(screen.getByRole("button", { name: "Turn on" }));
    const codes = await screen.findByRole("list", { name: "Recovery codes" });
    expect(within(codes).getAllByRole("listitem").map((li) => li.textContent)).toEqual(["aaaa-bbbb", "cccc-dddd"]);
    expect(sent).toEqual([{ code: "123456" }, { code: "654321" }]);
    await user.click(screen.getByRole("button", { name: "I have saved them" }));
    expect(await screen.findByText(/10 recovery codes are left/)).toBeInTheDocument();
  });

  it("lists where the person is signed in; a refused sign-out comes back with the reason", async () => {
    const user = userEvent.setup();
    renderPage((request, url) => {
      if (url.pathname === "/api/v1/auth/totp") return json(200, { enabled: false, pending: false, recovery_codes_left: 0 });
      if (url.pathname === "/api/v1/auth/sessions") return json(200, sessions);
      if (request.method === "DELETE" && url.pathname === "/api/v1/auth/sessions/s2") {
        return json(404, { status: 404, code: "session_not_found", detail: "That sign-in has already ended" });
      }
      return undefined;
    });
    const list = await screen.findByRole("list", { name: "Your sign-ins" });
    expect(within(list).getByText("Chrome on Linux")).toBeInTheDocument();
    expect(within(list).getByText("This browser")).toBeInTheDocument();
    // Only the other sign-in can be ended from here.
    const buttons = within(list).getAllByRole("button");
    expect(buttons).toHaveLength(1);
    await user.click(buttons[0]!);
    expect(await screen.findByText("That sign-in has already ended")).toBeInTheDocument();
    expect(within(list).getByText("Safari on iOS")).toBeInTheDocument();
  });

  it("signs out everywhere, this browser too, and goes to sign in", async () => {
    const user = userEvent.setup();
    const calls = renderPage((request, url) => {
      if (url.pathname === "/api/v1/auth/totp") return json(200, { enabled: true, pending: false, recovery_codes_left: 9 });
      if (url.pathname === "/api/v1/auth/sessions") return json(200, sessions);
      if (url.pathname === "/api/v1/auth/sessions/revoke-all") return new Response(null, { status: 204 });
      if (url.pathname === "/api/v1/auth/session" && request.method === "DELETE") return new Response(null, { status: 204 });
      return undefined;
    });
    await screen.findByRole("list", { name: "Your sign-ins" });
    await user.click(screen.getByRole("button", { name: "Sign out everywhere" }));
    const dialog = await screen.findByRole("dialog", { name: "Sign out everywhere?" });
    await user.click(within(dialog).getByRole("button", { name: "Sign out everywhere" }));
    expect(await screen.findByRole("heading", { name: "Sign in" })).toBeInTheDocument();
    await waitFor(() => expect(calls).toContain("POST /api/v1/auth/sessions/revoke-all"));
  });
});
