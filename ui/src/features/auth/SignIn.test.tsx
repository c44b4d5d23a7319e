import { describe, expect, it, vi } from "vitest";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter, Route, Routes } from "react-router";
import { SignIn } from "./SignIn";

function problem(status: number, code: string) {
  return new Response(JSON.stringify({ status, code, detail: code, title: code, type: `urn:jobber:error:${code}` }), {
    status,
    headers: { "Content-Type": "application/problem+json" },
  });
}

describe("SignIn", () => {
  it("asks for the authenticator code when the server says totp_required, then signs in", async () => {
    const session = { csrf_token: "t0k", user: { name: "Olive Owner" }, account: { name: "Bright Spark" } };
    const bodies: unknown[] = [];
    const fetchMock = vi.fn(async (input: Request) => {
      bodies.push(await input.clone().json());
      return bodies.length === 1
        ? problem(401, "totp_required")
        : new Response(JSON.stringify(session), { status: 200, headers: { "Content-Type": "application/json" } });
    });
    vi.stubGlobal("fetch", fetchMock);
    const user = userEvent.setup();
    render(
      <QueryClientProvider client={new QueryClient()}>
        <MemoryRouter initialEntries={["/sign-in?next=%2Fclients"]}>
          <Routes>
            <Route path="/sign-in" element={<SignIn />} />
            <Route path="/clients" element={<h1>Clients page</h1>} />
          </Routes>
        </MemoryRouter>
      </QueryClientProvider>,
    );

    await user.type(screen.getByLabelText("Email"), "olive@example.com");
    await user.type(screen.getByLabelText("Password"), "correct horse battery");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("heading", { name: "Two-step verification" })).toBeInTheDocument();

    await user.type(screen.getByLabelText("Authentication code"), "123 456");
    await user.click(screen.getByRole("button", { name: "Verify and sign in" }));
    expect(await screen.findByRole("heading", { name: "Clients page" })).toBeInTheDocument();
    expect(bodies[1]).toEqual({ email: "olive@example.com", password: "correct horse battery", totp_code: "123456" });
    vi.unstubAllGlobals();
  });
});
