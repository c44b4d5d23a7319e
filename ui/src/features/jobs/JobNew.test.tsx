import { afterEach, describe, expect, it, vi } from "vitest";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter } from "react-router";
import { JobNew } from "./JobNew";

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": status >= 400 ? "application/problem+json" : "application/json" } });

const previewOf = (body: Record<string, unknown>) =>
  json(200, {
    rrule: body.rrule,
    time_zone: "America/New_York",
    generated: 2,
    visits: [
      { index: 0, date: "2026-12-07", local_start: "2026-12-07T09:00:00", starts_at: "2026-12-07T14:00:00Z", ends_at: "2026-12-07T15:00:00Z", anytime: false },
      { index: 1, date: "2026-12-21", local_start: "2026-12-21T09:00:00", starts_at: "2026-12-21T14:00:00Z", ends_at: "2026-12-21T15:00:00Z", anytime: false },
    ],
  });

function serve(onCreate: (body: Record<string, unknown>) => Response, onPreview: (body: Record<string, unknown>) => Response = previewOf) {
  const fetch = vi.fn(async (request: Request) => {
    const url = new URL(request.url);
    if (request.method === "POST" && url.pathname === "/api/v1/jobs/recurrence/preview") return onPreview((await request.json()) as Record<string, unknown>);
    if (request.method === "POST" && url.pathname === "/api/v1/jobs") return onCreate((await request.json()) as Record<string, unknown>);
    if (url.pathname === "/api/v1/clients") return json(200, { items: [{ id: "c1", display_name: "Marguerite Quill" }], next_cursor: null });
    if (url.pathname === "/api/v1/clients/c1/properties") return json(200, { items: [], next_cursor: null });
    if (url.pathname === "/api/v1/users") return json(200, { items: [{ id: "u1", name: "Theo Tran", active: true }], next_cursor: null });
    return json(404, { status: 404, code: "not_found", detail: "no" });
  });
  vi.stubGlobal("fetch", fetch);
  return fetch;
}

function renderForm() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={client}>
      <MemoryRouter>
        <JobNew />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

afterEach(() => vi.unstubAllGlobals());

describe("New job", () => {
  it("sends a recurring schedule as an RRULE and shows the server's field errors at their fields", async () => {
    const user = userEvent.setup();
    let sent: Record<string, unknown> | undefined;
    serve((body) => {
      sent = body;
      return json(422, {
        status: 422,
        code: "validation_failed",
        detail: "One or more fields are invalid",
        errors: [
          { field: "title", message: "is too long" },
          { field: "schedule.rrule", message: "COUNT must be between 1 and 10000" },
        ],
      });
    });
    renderForm();
    await waitFor(() => expect(screen.getByRole("option", { name: "Marguerite Quill" })).toBeInTheDocument());
    await user.type(screen.getByLabelText("Title"), "Lighting check");
    await user.click(screen.getByLabelText("Repeats"));
    await user.clear(screen.getByLabelText("First day"));
    await user.type(screen.getByLabelText("First day"), "2026-12-07");
    await user.clear(screen.getByLabelText("Every"));
    await user.type(screen.getByLabelText("Every"), "2");
    await user.click(screen.getByLabelText("Thursday"));
    await user.click(screen.getByLabelText("Theo Tran"));
    expect(screen.getByText("Every 2 weeks on Monday and Thursday, 10 times")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Create job" }));

    await waitFor(() => expect(sent).toBeDefined());
    expect(sent).toMatchObject({
      client_id: "c1",
      title: "Lighting check",
      schedule: { start_date: "2026-12-07", start_time: "09:00", duration_minutes: 60, rrule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;COUNT=10", assignee_ids: ["u1"] },
    });
    const title = await screen.findByLabelText("Title");
    await waitFor(() => expect(title).toHaveAttribute("aria-invalid", "true"));
    expect(title).toHaveAccessibleDescription("Is too long");
    expect(screen.getByText("COUNT must be between 1 and 10000")).toBeInTheDocument();
    expect(screen.getAllByRole("alert")[0]).toHaveTextContent("Please correct the fields marked below.");
  });

  it("shows the next visits the server works out for the rule, and the server's objection to a rule", async () => {
    const user = userEvent.setup();
    const previews: Record<string, unknown>[] = [];
    serve(
      () => json(500, {}),
      (body) => {
        previews.push(body);
        if (String(body.rrule).includes("INTERVAL=7")) {
          return json(422, { status: 422, code: "validation_failed", detail: "One or more fields are invalid", errors: [{ field: "rrule", message: "gives no visit in the year after start_date" }] });
        }
        return previewOf(body);
      },
    );
    renderForm();
    await user.click(screen.getByLabelText("Repeats"));
    await user.clear(screen.getByLabelText("First day"));
    await user.type(screen.getByLabelText("First day"), "2026-12-07");
    await user.clear(screen.getByLabelText("Every"));
    await user.type(screen.getByLabelText("Every"), "2");

    // The server's dates, in its wall-clock time, are what the list shows.
    const listed = await screen.findByText(/Mon, Dec 21, 2026.*9:00/);
    // The summary writes the time as the list does (locale's clock, not "09:00").
    const summary = document.querySelector(".rule-summary p")!.textContent!;
    const at = /^Every 2 weeks on Monday.* at (.+)\.$/.exec(summary)?.[1];
    expect(at, summary).toBeDefined();
    expect(at).not.toBe("09:00");
    expect(listed.textContent!.endsWith(at!)).toBe(true);
    expect(screen.getByText(/2 visits are planned when the job is created.*Times in America\/New York/)).toBeInTheDocument();
    expect(previews.at(-1)).toEqual({ start_date: "2026-12-07", start_time: "09:00", rrule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;COUNT=10", limit: 5 });
    // While "Every" is empty the rule is incomplete: nothing is asked.
    const asked = previews.length;
    await user.clear(screen.getByLabelText("Every"));
    expect(await screen.findByText("Complete the rule to see its visits.")).toBeInTheDocument();
    expect(previews.slice(asked).every((b) => !String(b.rrule).includes("INTERVAL=0"))).toBe(true);

    await user.type(screen.getByLabelText("Every"), "7");
    expect(await screen.findByText("This rule does not work: gives no visit in the year after start_date.")).toBeInTheDocument();
  });

  it("asks before a double booking and books anyway when told", async () => {
    const user = userEvent.setup();
    const bodies: Record<string, unknown>[] = [];
    serve((body) => {
      bodies.push(body);
      if (bodies.length === 1) {
        return json(409, {
          status: 409,
          code: "schedule_conflict",
          detail: "1 overlapping visit(s); change the time or assignees, or send allow_overlap: true",
          errors: [{ field: "assignee_ids", message: "user u1 is booked from 2026-12-07T14:00:00+00:00 to 2026-12-07T15:00:00+00:00 (visit v9)" }],
        });
      }
      return json(201, { id: "j1" });
    });
    renderForm();
    await waitFor(() => expect(screen.getByRole("option", { name: "Marguerite Quill" })).toBeInTheDocument());
    await user.type(screen.getByLabelText("Title"), "Porch lights");
    await user.click(await screen.findByLabelText("Theo Tran"));
    await user.click(screen.getByRole("button", { name: "Create job" }));
    expect(await screen.findByText(/Theo Tran is booked/)).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Book anyway" }));
    await waitFor(() => expect(bodies).toHaveLength(2));
    expect(bodies[0]).toMatchObject({ schedule: { allow_overlap: false } });
    expect(bodies[1]).toMatchObject({ schedule: { allow_overlap: true } });
  });
});
