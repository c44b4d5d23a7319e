import { describe, expect, it } from "vitest";
import { MemoryStorage, Queue } from "../../lib/offline/queue";
import {
  baseOf,
  canOverride,
  coalesceNotes,
  decideComplete,
  decideNotes,
  decideTick,
  makeSend,
  overlay,
  type Change,
  type Visit,
  type VisitConflict,
} from "./changes";

/** A tiny stand-in for the API's visit endpoints, with Idempotency-Key replay. */
function fakeServer() {
  const visit = {
    id: "v1",
    notes: "" as string | null,
    version: 1,
    status: "scheduled" as Visit["status"],
    instructions: "Gate code 4455" as string | null,
    starts_at: "2026-12-03T09:00:00Z",
    ends_at: "2026-12-03T11:00:00Z",
    assignee_ids: ["u1"],
    completed_by: null as string | null,
    checklist: [
      { id: "i1", text: "Ladder", done: false },
      { id: "i2", text: "Photos", done: false },
    ],
    entries: 0,
    removed: false,
  };
  const replies = new Map<string, { status: number; body: unknown }>();
  const log: string[] = [];
  let dropNextAnswer = false;
  let online = true;
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  const snapshot = () => {
    const { entries: _entries, removed: _removed, ...rest } = visit;
    return { ...rest, checklist: visit.checklist.map((i) => ({ ...i })), assignee_ids: [...visit.assignee_ids], time_entries: [] };
  };
  const stale = (sent: unknown) =>
    typeof sent === "number" && sent !== visit.version
      ? { status: 409, body: { code: "version_conflict", current_version: visit.version, updated_by: { kind: "user", id: "o1", name: "Olive Office" } } }
      : null;
  async function handle(path: string, init: RequestInit): Promise<{ status: number; body: unknown }> {
    const method = init.method ?? "GET";
    const body = init.body ? JSON.parse(String(init.body)) : {};
    if (visit.removed) return { status: 404, body: { code: "visit_not_found" } };
    if (method === "GET") return { status: 200, body: snapshot() };
    if (path.endsWith("/clock-in")) {
      visit.entries += 1;
      visit.version += 1;
      return { status: 200, body: snapshot() };
    }
    if (path.includes("/checklist/")) {
      const refused = stale(body.version);
      if (refused) return refused;
      const item = visit.checklist.find((i) => path.endsWith(`/${i.id}`));
      if (!item) return { status: 422, body: { code: "validation_failed", errors: [{ field: "item_id" }] } };
      item.done = body.done;
      visit.version += 1;
      return { status: 200, body: snapshot() };
    }
    if (path.endsWith("/complete")) {
      const refused = stale(body.version);
      if (refused) return refused;
      if (visit.status === "cancelled") return { status: 409, body: { code: "invalid_transition" } };
      if (visit.status !== "completed") {
        visit.status = "completed";
        visit.completed_by = "u1";
        visit.version += 1;
      }
      return { status: 200, body: snapshot() };
    }
    if (method === "PATCH") {
      if (body.version !== visit.version) return { status: 409, body: { code: "version_conflict" } };
      visit.notes = body.notes;
      visit.version += 1;
      return { status: 200, body: snapshot() };
    }
    return { status: 404, body: { code: "not_found" } };
  }
  const fetch = async (path: string, init: RequestInit) => {
    if (!online) throw new TypeError("Failed to fetch");
    const key = new Headers(init.headers).get("Idempotency-Key");
    log.push(`${init.method} ${path} ${key ?? ""} ${init.body ?? ""}`.trim());
    let reply = key && init.method === "POST" ? replies.get(key) : undefined;
    if (!reply) {
      reply = await handle(path, init);
      if (key && init.method === "POST") replies.set(key, reply);
    }
    if (dropNextAnswer) {
      dropNextAnswer = false;
      throw new TypeError("connection reset");
    }
    return json(reply.status, reply.body);
  };
  /** What the office does meanwhile: each change is a new version. */
  const office = {
    move: () => {
      visit.starts_at = "2026-12-03T13:00:00Z";
      visit.ends_at = "2026-12-03T15:00:00Z";
      visit.version += 1;
    },
    instructions: (text: string) => {
      visit.instructions = text;
      visit.version += 1;
    },
    rename: (itemId: string, text: string) => {
      visit.checklist = visit.checklist.map((i) => (i.id === itemId ? { ...i, text } : i));
      visit.version += 1;
    },
    cancel: () => {
      visit.status = "cancelled";
      visit.version += 1;
    },
    complete: () => {
      visit.status = "completed";
      visit.completed_by = "o1";
      visit.version += 1;
    },
    remove: () => {
      visit.removed = true;
    },
  };
  return {
    visit,
    log,
    office,
    snapshot: () => snapshot() as unknown as Visit,
    http: { fetch, csrf: () => "token", refreshSession: async () => true },
    dropNextAnswer: () => (dropNextAnswer = true),
    setOnline: (value: boolean) => (online = value),
  };
}

function queueFor(server: ReturnType<typeof fakeServer>) {
  let clock = 0;
  return {
    queue: new Queue<Change>(new MemoryStorage<Change>(), makeSend(server.http), { now: () => clock, random: () => 0.5 }),
    later: () => (clock += 120_000),
  };
}

describe("sending a technician's changes", () => {
  it("decides what a queued note meets on the server", () => {
    expect(decideNotes({ notes: "b", baseNotes: "a" }, { notes: "b" })).toBe("applied");
    expect(decideNotes({ notes: "b", baseNotes: "a" }, { notes: "a" })).toBe("rebase");
    expect(decideNotes({ notes: "b", baseNotes: null }, { notes: null })).toBe("rebase");
    expect(decideNotes({ notes: "b", baseNotes: "a" }, { notes: "office" })).toBe("conflict");
  });

  it("a clock-in whose answer was lost is replayed with the same key and counted once", async () => {
    const server = fakeServer();
    const { queue, later } = queueFor(server);
    await queue.enqueue("v1", { kind: "clock_in", visitId: "v1", at: "2026-12-03T08:00:00Z" });
    server.dropNextAnswer();
    expect((await queue.drain()).type).toBe("waiting");
    later();
    expect(await queue.drain()).toEqual({ type: "idle" });
    expect(server.visit.entries).toBe(1);
    const keys = server.log.filter((l) => l.includes("clock-in")).map((l) => l.split(" ")[2]);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
  });

  it("a note whose answer was lost is recognised on the server, not reported as a conflict", async () => {
    const server = fakeServer();
    const { queue, later } = queueFor(server);
    await queue.enqueue("v1", { kind: "notes", visitId: "v1", notes: "Done", baseNotes: "", baseVersion: 1 });
    server.dropNextAnswer();
    await queue.drain();
    later();
    expect(await queue.drain()).toEqual({ type: "idle" });
    expect(server.visit.notes).toBe("Done");
    expect(server.visit.version).toBe(2);
  });

  it("our own ticks and clock-ins moving the version do not make our note a conflict", async () => {
    const server = fakeServer();
    const { queue } = queueFor(server);
    server.setOnline(false);
    await queue.enqueue("v1", { kind: "clock_in", visitId: "v1", at: "2026-12-03T08:00:00Z" });
    await queue.enqueue("v1", { kind: "tick", visitId: "v1", itemId: "i1", done: true });
    await queue.enqueue("v1", { kind: "notes", visitId: "v1", notes: "All good", baseNotes: "", baseVersion: 1 });
    expect((await queue.drain()).type).toBe("waiting");
    server.setOnline(true);
    await queue.retryNow();
    expect(await queue.drain()).toEqual({ type: "idle" });
    expect(server.visit).toMatchObject({ notes: "All good", entries: 1, checklist: [{ done: true }, { done: false }] });
  });

  it("an office edit of the notes is a conflict with both versions; keeping mine writes over the new version", async () => {
    const server = fakeServer();
    const { queue } = queueFor(server);
    server.visit.notes = "Gate code 1234";
    server.visit.version = 2;
    await queue.enqueue("v1", { kind: "notes", visitId: "v1", notes: "Fixed the leak", baseNotes: "", baseVersion: 1 });
    const result = await queue.drain();
    expect(result.type).toBe("conflict");
    const [op] = await queue.list();
    expect(op!.theirs).toEqual({ notes: "Gate code 1234", version: 2 });
    expect(server.visit.notes).toBe("Gate code 1234");

    const merged = "Gate code 1234\nFixed the leak";
    await queue.resolve(op!.seq!, { kind: "notes", visitId: "v1", notes: merged, baseNotes: "Gate code 1234", baseVersion: 2 });
    expect(await queue.drain()).toEqual({ type: "idle" });
    expect(server.visit.notes).toBe(merged);
  });

  it("photos are uploaded first, then attached; the upload is not sent twice", async () => {
    const calls: string[] = [];
    const attached: unknown[] = [];
    let attachFails = 1;
    const http = {
      csrf: () => null,
      refreshSession: async () => true,
      fetch: async (path: string, init: RequestInit) => {
        calls.push(`${init.method} ${path}`);
        if (path.endsWith("/uploads")) return new Response(JSON.stringify({ id: "u1" }), { status: 201 });
        attached.push(JSON.parse(String(init.body)));
        if (attachFails-- > 0) return new Response(JSON.stringify({ code: "unavailable" }), { status: 503 });
        return new Response(JSON.stringify({ id: "a1" }), { status: 201 });
      },
    };
    let clock = 0;
    const queue = new Queue<Change>(new MemoryStorage<Change>(), makeSend(http), { now: () => clock });
    const file = new Blob(["jpeg"], { type: "image/jpeg" });
    await queue.enqueue("v1", { kind: "file", purpose: "photo", visitId: "v1", jobId: "j1", file, filename: "p.jpg" });
    expect((await queue.drain()).type).toBe("waiting");
    expect((await queue.list())[0]!.payload).toMatchObject({ uploadId: "u1" });
    clock += 120_000;
    expect(await queue.drain()).toEqual({ type: "idle" });
    expect(calls).toEqual(["POST /api/v1/uploads", "POST /api/v1/jobs/j1/attachments", "POST /api/v1/jobs/j1/attachments"]);
    // The attachment says what it is.
    expect(attached.at(-1)).toEqual({ upload_id: "u1", visit_id: "v1", kind: "photo" });
  });

  it("typing a note twice while offline queues one change with the first base", () => {
    const first: Change = { kind: "notes", visitId: "v1", notes: "a", baseNotes: "", baseVersion: 1 };
    const merge = coalesceNotes({ kind: "notes", visitId: "v1", notes: "ab", baseNotes: "a", baseVersion: 1 });
    expect(merge({ key: "k", record: "v1", payload: first, createdAt: "", attempts: 0, nextAttemptAt: 0, state: "pending" })).toEqual({
      ...first,
      notes: "ab",
    });
  });

  it("shows the queued changes over the cached visit", () => {
    const visit = {
      id: "v1",
      status: "scheduled",
      notes: null,
      checklist: [{ id: "i1", text: "Ladder", done: false }],
      time_entries: [],
    } as unknown as Visit;
    const ops = [
      { kind: "clock_in", visitId: "v1", at: "2026-12-03T08:00:00Z" },
      { kind: "tick", visitId: "v1", itemId: "i1", done: true },
      { kind: "notes", visitId: "v1", notes: "ok", baseNotes: null, baseVersion: 1 },
      { kind: "tick", visitId: "v2", itemId: "i1", done: false },
    ].map((payload, i) => ({ key: `k${i}`, record: "v1", payload: payload as Change, createdAt: "", attempts: 0, nextAttemptAt: 0, state: "pending" as const }));
    const shown = overlay(visit, ops, "u1");
    expect(shown.status).toBe("in_progress");
    expect(shown.checklist[0]!.done).toBe(true);
    expect(shown.notes).toBe("ok");
    expect(shown.time_entries).toMatchObject([{ user_id: "u1", started_at: "2026-12-03T08:00:00Z", ended_at: null }]);
  });
});

describe("a tick or a completion queued over an office change", () => {
  const seen = () => baseOf(fakeServer().snapshot(), "u1");
  const now = (patch: Partial<Visit>) => ({ ...fakeServer().snapshot(), ...patch }) as Visit;
  const items = (...done: boolean[]) => [
    { id: "i1", text: "Ladder", done: done[0] ?? false },
    { id: "i2", text: "Photos", done: done[1] ?? false },
  ];

  it("decides a tick: silent when the office touched something else, the technician's call when it touched the item", () => {
    const tick = { itemId: "i1", done: true };
    // The office moved the visit, wrote notes, or a colleague ticked another item.
    expect(decideTick(tick, seen(), now({ starts_at: "2026-12-03T13:00:00Z", notes: "Office", checklist: items(false, true), version: 5 }))).toEqual({ type: "rebase" });
    // Our own answer was lost (or someone did the same).
    expect(decideTick(tick, seen(), now({ checklist: items(true) }))).toEqual({ type: "applied" });
    // The item is gone, or says something else now.
    expect(decideTick(tick, seen(), now({ checklist: [items()[1]!] }))).toEqual({ type: "conflict", reason: "item_removed" });
    expect(decideTick(tick, seen(), now({ checklist: [{ id: "i1", text: "Ladder (tall one)", done: false }, items()[1]!] }))).toEqual({
      type: "conflict",
      reason: "item_changed",
    });
    // Someone unticked what the technician saw ticked, and they untick it too: the same.
    const ticked = { ...seen(), checklist: items(true) };
    expect(decideTick({ itemId: "i1", done: false }, ticked, now({ checklist: items(false) }))).toEqual({ type: "applied" });
    // The visit is no longer theirs to work.
    expect(decideTick(tick, seen(), now({ status: "cancelled" }))).toEqual({ type: "conflict", reason: "cancelled" });
    expect(decideTick(tick, seen(), now({ assignee_ids: ["u2"] }))).toEqual({ type: "conflict", reason: "reassigned" });
    // A colleague added to the visit, the office completing it: not the tick's business.
    expect(decideTick(tick, seen(), now({ assignee_ids: ["u1", "u2"], status: "completed", completed_by: "o1" }))).toEqual({ type: "rebase" });
  });

  it("decides a completion: about what the visit asks for and whether it is still open and theirs", () => {
    // Moved, notes, our own ticks and clock-in (status in progress), a colleague added.
    expect(
      decideComplete(seen(), now({ starts_at: "2026-12-03T13:00:00Z", notes: "x", checklist: items(true, true), status: "in_progress", assignee_ids: ["u1", "u2"] })),
    ).toEqual({ type: "rebase" });
    expect(decideComplete(seen(), now({ instructions: "Dog in the yard" }))).toEqual({ type: "conflict", reason: "instructions" });
    expect(decideComplete(seen(), now({ checklist: [...items(), { id: "i3", text: "Pressure test", done: false }] }))).toEqual({
      type: "conflict",
      reason: "checklist",
    });
    expect(decideComplete(seen(), now({ status: "cancelled" }))).toEqual({ type: "conflict", reason: "cancelled" });
    expect(decideComplete(seen(), now({ status: "completed", completed_by: "o1" }))).toEqual({ type: "conflict", reason: "completed" });
    // Completed by this technician: our own answer was lost.
    expect(decideComplete(seen(), now({ status: "completed", completed_by: "u1" }))).toEqual({ type: "applied" });
    expect(decideComplete(seen(), now({ assignee_ids: ["u2"] }))).toEqual({ type: "conflict", reason: "reassigned" });
    // Only what the technician can knowingly send over.
    expect(["instructions", "checklist", "item_changed", "reassigned"].every((r) => canOverride(r as never))).toBe(true);
    expect(["gone", "cancelled", "completed", "item_removed"].some((r) => canOverride(r as never))).toBe(false);
  });

  it("ticks made offline are sent over the office's move and over each other, with no question", async () => {
    const server = fakeServer();
    const { queue } = queueFor(server);
    const base = baseOf(server.snapshot(), "u1");
    server.setOnline(false);
    await queue.enqueue("v1", { kind: "tick", visitId: "v1", itemId: "i1", done: true, base });
    // The second was made seeing the first ticked (the queued change shown on the screen).
    await queue.enqueue("v1", { kind: "tick", visitId: "v1", itemId: "i2", done: true, base: { ...base, checklist: items(true) } });
    server.office.move();
    server.setOnline(true);
    expect(await queue.drain()).toEqual({ type: "idle" });
    expect(server.visit.checklist.map((i) => i.done)).toEqual([true, true]);
    expect(server.visit.starts_at).toBe("2026-12-03T13:00:00Z");
    // Each tick carried a version: the first the one seen, then the server's.
    const ticks = server.log.filter((l) => l.startsWith("PATCH"));
    expect(ticks.map((l) => JSON.parse(l.slice(l.indexOf("{"))).version)).toEqual([1, 2, 1, 3]);
  });

  it("a completion over new instructions waits for the technician with both versions; 'complete anyway' sends it over theirs", async () => {
    const server = fakeServer();
    const { queue } = queueFor(server);
    await queue.enqueue("v1", { kind: "complete", visitId: "v1", at: "2026-12-03T10:30:00Z", base: baseOf(server.snapshot(), "u1") });
    server.office.instructions("Dog in the yard: call first");
    const result = await queue.drain();
    expect(result.type).toBe("conflict");
    const [op] = await queue.list();
    const theirs = op!.theirs as VisitConflict;
    expect(theirs).toMatchObject({ kind: "visit", reason: "instructions", by: "Olive Office", visit: { instructions: "Dog in the yard: call first", version: 2 } });
    expect(op!.error).toMatch(/instructions/);
    // Nothing was completed on the server.
    expect(server.visit.status).toBe("scheduled");
    // Queued behind it, in order: waits too.
    await queue.enqueue("v1", { kind: "clock_out", visitId: "v1", at: "2026-12-03T10:31:00Z" });
    expect((await queue.drain()).type).toBe("conflict");

    await queue.resolve(op!.seq!, { ...(op!.payload as Extract<Change, { kind: "complete" }>), base: baseOf(theirs.visit!, "u1") });
    expect(await queue.drain()).toEqual({ type: "idle" });
    expect(server.visit).toMatchObject({ status: "completed", completed_by: "u1" });
  });

  it("a completion over a cancellation or the office's own completion is never sent; discarding it leaves the office's", async () => {
    for (const what of ["cancel", "complete"] as const) {
      const server = fakeServer();
      const { queue } = queueFor(server);
      await queue.enqueue("v1", { kind: "complete", visitId: "v1", at: "2026-12-03T10:30:00Z", base: baseOf(server.snapshot(), "u1") });
      server.office[what]();
      expect((await queue.drain()).type).toBe("conflict");
      const [op] = await queue.list();
      expect((op!.theirs as VisitConflict).reason).toBe(what === "cancel" ? "cancelled" : "completed");
      await queue.resolve(op!.seq!, null);
      expect(await queue.drain()).toEqual({ type: "idle" });
      expect(server.visit.completed_by).toBe(what === "cancel" ? null : "o1");
    }
  });

  it("a completion whose answer was lost is replayed under the same key and done once", async () => {
    const server = fakeServer();
    const { queue, later } = queueFor(server);
    await queue.enqueue("v1", { kind: "complete", visitId: "v1", at: "2026-12-03T10:30:00Z", base: baseOf(server.snapshot(), "u1") });
    server.dropNextAnswer();
    expect((await queue.drain()).type).toBe("waiting");
    later();
    expect(await queue.drain()).toEqual({ type: "idle" });
    expect(server.visit).toMatchObject({ status: "completed", version: 2 });
  });

  it("a renamed item or a removed visit is the technician's call; an old queued tick without a version is sent as before", async () => {
    const server = fakeServer();
    const { queue } = queueFor(server);
    await queue.enqueue("v1", { kind: "tick", visitId: "v1", itemId: "i1", done: true, base: baseOf(server.snapshot(), "u1") });
    server.office.rename("i1", "Ladder: use the tall one");
    expect((await queue.drain()).type).toBe("conflict");
    const [renamed] = await queue.list();
    expect((renamed!.theirs as VisitConflict).reason).toBe("item_changed");
    await queue.resolve(renamed!.seq!, null);

    await queue.enqueue("v1", { kind: "tick", visitId: "v1", itemId: "i2", done: true });
    expect(await queue.drain()).toEqual({ type: "idle" });
    expect(server.log.at(-1)).toMatch(/^PATCH \/api\/v1\/visits\/v1\/checklist\/i2 \S+ \{"done":true\}$/);

    server.office.remove();
    await queue.enqueue("v1", { kind: "complete", visitId: "v1", at: "2026-12-03T10:30:00Z", base: baseOf(server.snapshot(), "u1") });
    expect((await queue.drain()).type).toBe("conflict");
    const [removed] = await queue.list();
    expect(removed!.theirs).toEqual({ kind: "visit", reason: "gone", visit: null, by: undefined });
  });

  it("a tick or completion held by a conflict is not shown as done on the visit", () => {
    const visit = fakeServer().snapshot();
    const held = (payload: Change, state: "pending" | "conflict") => ({ key: "k", record: "v1", payload, createdAt: "", attempts: 1, nextAttemptAt: 0, state });
    const complete: Change = { kind: "complete", visitId: "v1", at: "2026-12-03T10:30:00Z" };
    expect(overlay(visit, [held(complete, "conflict")], "u1").status).toBe("scheduled");
    expect(overlay(visit, [held(complete, "pending")], "u1").status).toBe("completed");
  });
});
