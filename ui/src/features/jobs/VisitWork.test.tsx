import { describe, expect, it } from "vitest";
import { render, screen, within } from "@testing-library/react";
import { LocaleProvider } from "../../lib/locale";
import type { Attachment, Visit } from "./api";
import { VisitWork, visitPhotos } from "./VisitWork";

const names = new Map([
  ["theo", "Theo Tran"],
  ["dana", "Dana Diaz"],
]);

const attachment = (over: Partial<Attachment>): Attachment => ({
  id: "a",
  job_id: "j1",
  visit_id: "v1",
  kind: "photo",
  filename: "valve.jpg",
  content_type: "image/jpeg",
  bytes: 10,
  url: "/files/a",
  thumbnail_url: "/files/a-thumb",
  thumbnail_status: "ready",
  uploaded_by: "theo",
  created_at: "2026-12-03T15:40:00Z",
  ...over,
});

type Work = Pick<Visit, "id" | "checklist" | "time_entries">;
const visit = (over: Partial<Work>): Work => ({ id: "v1", checklist: [], time_entries: [], ...over });

function show(work: Work, photos: Attachment[] = [], now = Date.parse("2026-12-03T17:00:00Z")) {
  // The account is in New York; 15:02 UTC is 10:02 AM there.
  return render(
    <LocaleProvider value={{ currency: "USD", timeZone: "America/New_York", locale: "en-US" }}>
      <VisitWork visit={work} names={names} photos={photos} when="Dec 3, 2026, 10:00 AM" now={now} />
    </LocaleProvider>,
  );
}

describe("a visit's field work on the office's job page", () => {
  it("lists each clock-in with its person, start and end in the account's zone, its length and the visit's total", () => {
    show(
      visit({
        time_entries: [
          // Out of order on purpose: shown by start.
          { id: "t2", user_id: "dana", started_at: "2026-12-03T16:30:00Z", ended_at: "2026-12-03T16:45:00Z" },
          { id: "t1", user_id: "theo", started_at: "2026-12-03T15:02:00Z", ended_at: "2026-12-03T16:15:00Z" },
        ],
      }),
    );
    const rows = within(screen.getByRole("list", { name: "Time entries" })).getAllByRole("listitem");
    expect(rows.map((r) => r.textContent?.replace(/\s+/g, " "))).toEqual([
      "Theo TranDec 3, 2026, 10:02 AM – 11:15 AM1 h 13 min".replace(/\s+/g, " "),
      "Dana DiazDec 3, 2026, 11:30 AM – 11:45 AM15 min".replace(/\s+/g, " "),
    ]);
    expect(screen.getByRole("heading", { name: "Time on site 1 h 28 min" })).toBeInTheDocument();
  });

  it("counts a running clock-in until now, writes another day's end in full, and names a former member", () => {
    show(
      visit({
        time_entries: [
          { id: "t1", user_id: "gone", started_at: "2026-12-03T04:30:00Z", ended_at: "2026-12-03T05:30:00Z" },
          { id: "t2", user_id: "theo", started_at: "2026-12-03T16:00:00Z", ended_at: null },
        ],
      }),
    );
    const rows = within(screen.getByRole("list", { name: "Time entries" })).getAllByRole("listitem");
    // 11:30 PM on Dec 2 to 12:30 AM on Dec 3 in New York.
    expect(rows[0]).toHaveTextContent("Former team member");
    expect(rows[0]).toHaveTextContent("Dec 2, 2026, 11:30 PM – Dec 3, 2026, 12:30 AM");
    expect(rows[1]).toHaveTextContent("Dec 3, 2026, 11:00 AM – now");
    expect(rows[1]).toHaveTextContent("clocked in");
    // An hour done and an hour running (until 17:00 UTC).
    expect(screen.getByRole("heading", { name: "Time on site 2 h 00 min so far" })).toBeInTheDocument();
  });

  it("shows the checklist as ticked, by whom and when", () => {
    show(
      visit({
        checklist: [
          { id: "c1", text: "Water off at the street", done: true, done_by: "theo", done_at: "2026-12-03T15:05:00Z" },
          { id: "c2", text: "Pressure test", done: false },
        ],
      }),
    );
    expect(screen.getByRole("heading", { name: "Checklist 1 of 2 done" })).toBeInTheDocument();
    const items = screen.getAllByRole("listitem");
    expect(items[0]).toHaveTextContent("Water off at the street, done");
    expect(items[0]).toHaveTextContent("Theo Tran, Dec 3, 2026, 10:05 AM");
    expect(items[1]).toHaveTextContent("Pressure test, not done");
  });

  it("shows the visit's photos as thumbnails that open the picture", () => {
    const list = [
      attachment({ id: "p1" }),
      // Its thumbnail is not made yet: the picture itself stands in.
      attachment({ id: "p2", thumbnail_url: null, thumbnail_status: "pending", url: "/files/p2" }),
      attachment({ id: "s1", kind: "signature" }),
      attachment({ id: "p3", visit_id: "v2" }),
      attachment({ id: "p4", visit_id: null }),
    ];
    const photos = visitPhotos(list, "v1");
    expect(photos.map((p) => p.id)).toEqual(["p1", "p2"]);
    show(visit({}), photos);
    expect(screen.getByRole("heading", { name: "Photos 2" })).toBeInTheDocument();
    const first = screen.getByRole("img", { name: "Photo 1 from the visit of Dec 3, 2026, 10:00 AM" });
    expect(first).toHaveAttribute("src", "/files/a-thumb");
    expect(screen.getByRole("img", { name: /Photo 2/ })).toHaveAttribute("src", "/files/p2");
    expect(screen.getByRole("link", { name: /Photo 1/ })).toHaveAttribute("href", "/files/a");
  });

  it("shows nothing before the field has done anything", () => {
    const { container } = show(visit({ checklist: [{ id: "c1", text: "Pressure test", done: false }] }));
    expect(container).toBeEmptyDOMElement();
  });
});
