import { afterEach, describe, expect, it, vi } from "vitest";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { JobNotes } from "./JobNotes";

const json = (status: number, body: unknown) =>
  new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { "Content-Type": status >= 400 ? "application/problem+json" : "application/json" } });

const note = (id: string, author: string, body: string, at = "2026-12-03T09:15:00Z") => ({
  id,
  job_id: "j1",
  author_id: author,
  author_name: author === "me" ? "Olive Owner" : "Dana Diaz",
  body,
  created_at: at,
  updated_at: at,
});

function serve(handle: (method: string, path: string, body: unknown) => Response | undefined) {
  const fetch = vi.fn(async (request: Request) => {
    const url = new URL(request.url);
    const body = request.method === "GET" || request.method === "DELETE" ? undefined : await request.json();
    return handle(request.method, url.pathname, body) ?? json(404, { status: 404, code: "not_found", detail: "no" });
  });
  vi.stubGlobal("fetch", fetch);
  return fetch;
}

function renderNotes() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  client.setQueryData(["session"], { user: { id: "me", name: "Olive Owner" }, account: {}, csrf_token: "t" });
  render(
    <QueryClientProvider client={client}>
      <JobNotes jobId="j1" />
    </QueryClientProvider>,
  );
}

afterEach(() => vi.unstubAllGlobals());

describe("Job notes", () => {
  it("lists notes with author and time, adds one, and edits only your own", async () => {
    const user = userEvent.setup();
    const sent: { method: string; body: unknown }[] = [];
    serve((method, path, body) => {
      if (method === "GET" && path === "/api/v1/jobs/j1/notes") return json(200, [note("n1", "me", "Gate code 4417"), note("n2", "dana", "Client prefers mornings")]);
      if (method === "POST" && path === "/api/v1/jobs/j1/notes") {
        sent.push({ method, body });
        return json(201, note("n3", "me", "Bring the long ladder", "2026-12-03T10:00:00Z"));
      }
      if (method === "PUT" && path === "/api/v1/jobs/j1/notes/n1") {
        sent.push({ method, body });
        return json(200, { ...note("n1", "me", "Gate code 4418"), updated_at: "2026-12-03T11:00:00Z" });
      }
      return undefined;
    });
    renderNotes();
    const list = await screen.findByRole("list");
    const items = within(list).getAllByRole("listitem");
    expect(items).toHaveLength(2);
    expect(items[0]).toHaveTextContent("Olive Owner");
    expect(items[0]).toHaveTextContent("Gate code 4417");
    expect(within(items[0]!).getByRole("button", { name: /Edit your note/ })).toBeInTheDocument();
    // Someone else's note: read only.
    expect(items[1]).toHaveTextContent("Dana Diaz");
    expect(within(items[1]!).queryByRole("button")).toBeNull();

    await user.type(screen.getByLabelText("Add a note"), "Bring the long ladder");
    await user.click(screen.getByRole("button", { name: "Add note" }));
    expect(await screen.findByText("Bring the long ladder")).toBeInTheDocument();
    expect(sent[0]).toEqual({ method: "POST", body: { body: "Bring the long ladder" } });
    expect(screen.getByLabelText("Add a note")).toHaveValue("");

    await user.click(within(items[0]!).getByRole("button", { name: /Edit your note/ }));
    const field = screen.getByLabelText("Note");
    await user.clear(field);
    await user.type(field, "Gate code 4418");
    await user.click(screen.getByRole("button", { name: "Save note" }));
    expect(await screen.findByText("Gate code 4418")).toBeInTheDocument();
    expect(screen.getByText(/edited/)).toBeInTheDocument();
    expect(sent[1]).toEqual({ method: "PUT", body: { body: "Gate code 4418" } });
  });

  it("shows the server's field error at the note and puts back a note the server would not delete", async () => {
    const user = userEvent.setup();
    serve((method, path) => {
      if (method === "GET") return json(200, [note("n1", "me", "Gate code 4417")]);
      if (method === "POST" && path === "/api/v1/jobs/j1/notes") {
        return json(422, { status: 422, code: "validation_failed", detail: "One or more fields are invalid", errors: [{ field: "body", message: "must be at most 5000 characters" }] });
      }
      if (method === "DELETE") return json(403, { status: 403, code: "not_note_author", detail: "Only the note's author may change or delete it" });
      return undefined;
    });
    renderNotes();
    await screen.findByText("Gate code 4417");
    // Empty: refused before asking the server.
    await user.click(screen.getByRole("button", { name: "Add note" }));
    expect(screen.getByLabelText("Add a note")).toHaveAccessibleDescription("Write the note first.");

    await user.type(screen.getByLabelText("Add a note"), "Something");
    await user.click(screen.getByRole("button", { name: "Add note" }));
    await waitFor(() => expect(screen.getByLabelText("Add a note")).toHaveAccessibleDescription("Must be at most 5000 characters."));

    await user.click(screen.getByRole("button", { name: /Delete your note/ }));
    await user.click(within(screen.getByRole("group", { name: "Delete this note?" })).getByRole("button", { name: "Delete" }));
    expect(await screen.findByText(/The note was not deleted: Only the note's author/)).toBeInTheDocument();
    expect(screen.getByText("Gate code 4417")).toBeInTheDocument();
  });
});
