import { afterEach, describe, expect, it, vi } from "vitest";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter, Route, Routes, useLocation } from "react-router";
import { AcceptInvitation } from "./AcceptInvitation";

const json = (status: number, body: unknown) =>
  new Response(body === null ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": status >= 400 ? "application/problem+json" : "application/json" },
  });

const dan = { id: "u2", name: "Dan Dispatch", email: "dan@example.com", role: "admin" };
const tokens = { access_token: "a1", refresh_token: "r1", token_type: "Bearer", expires_in: 900 };

function SignInPage() {
  const notice = (useLocation().state as { notice?: string } | null)?.notice;
  return (
    <>
      <h1>Sign in</h1>
      <p>{notice}</p>
    </>
  );
}

function renderPage(signIn: () => Response) {
  const calls: { path: string; body: unknown }[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (request: Request) => {
      const path = new URL(request.url).pathname;
      calls.push({ path, body: request.method === "POST" ? await request.json().catch(() => null) : null });
      if (path === "/api/v1/auth/invitations/accept") return json(200, { user: dan, ...tokens });
      if (path === "/api/v1/auth/session") return signIn();
      if (path === "/api/v1/auth/logout") return json(204, null);
      return json(404, { status: 404, code: "not_found" });
    }),
  );
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={["/accept-invitation?token=acct.id.secret"]}>
        <Routes>
          <Route path="/accept-invitation" element={<AcceptInvitation />} />
          <Route path="/" element={<h1>The office</h1>} />
          <Route path="/sign-in" element={<SignInPage />} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return { calls, client };
}

async function accept(password: string) {
  const user = userEvent.setup();
  await user.type(screen.getByLabelText("New password"), password);
  await user.type(screen.getByLabelText("Repeat the password"), password);
  await user.click(screen.getByRole("button", { name: "Accept invitation" }));
}

afterEach(() => vi.unstubAllGlobals());

describe("AcceptInvitation", () => {
  it("sets the password, signs the browser in and ends the token login it was given", async () => {
    const session = { user: dan, account: { id: "acct", name: "Evergreen" }, csrf_token: "c1" };
    const { calls, client } = renderPage(() => json(200, session));
    await accept("first day on the job");
    await screen.findByRole("heading", { name: "The office" });
    expect(calls.map((c) => c.path)).toEqual(["/api/v1/auth/invitations/accept", "/api/v1/auth/session", "/api/v1/auth/logout"]);
    expect(calls[0]?.body).toEqual({ token: "acct.id.secret", password: "first day on the job" });
    expect(calls[1]?.body).toEqual({ email: "dan@example.com", password: "first day on the job" });
    expect(calls[2]?.body).toEqual({ refresh_token: "r1" });
    expect(client.getQueryData(["session"])).toEqual(session);
  });

  it("sends to sign in, saying so, when the browser cannot be signed in (the link is used up)", async () => {
    const { calls } = renderPage(() => json(429, { status: 429, code: "rate_limited", detail: "too many attempts" }));
    await accept("first day on the job");
    await screen.findByRole("heading", { name: "Sign in" });
    screen.getByText("You are in. Sign in with your email and the password you just chose.");
    expect(calls.map((c) => c.path)).toEqual(["/api/v1/auth/invitations/accept", "/api/v1/auth/session"]);
  });
});
