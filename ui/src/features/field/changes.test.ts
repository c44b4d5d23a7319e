import { describe, expect, it } from "vitest";
import { MemoryStorage, Queue } from "../../lib/offline/queue";
import { coalesceNotes, decideNotes, makeSend, overlay, type Change, type Visit } from "./changes";

/** A tiny stand-in for the API's visit endpoints, with Idempotency-Key replay. */
function fakeServer() {
  const visit = { id: "v1", notes: "" as string | null, version: 1, checklist: [{ id: "i1", done: false }], entries: 0 };
  const replies = new Map<string, { status: number; body: unknown }>();
  const log: string[] = [];
  let dropNextAnswer = false;
  let online = true;
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  const snapshot = () => ({ id: visit.id, notes: visit.notes, version: visit.version, checklist: visit.checklist });
  async function handle(path: string, init: RequestInit): Promise<{ status: number; body: unknown }> {
    const method = init.method ?? "GET";
    const body = init.body ? JSON.parse(String(init.body)) : {};
    if (method === "GET") return { status: 200, body: snapshot() };
    if (path.endsWith("/clock-in")) {
      visit.entries += 1;
      visit.version += 1;
      return { status: 200, body: snapshot() };
    }
    if (path.includes("/checklist/")) {
      visit.checklist[0]!.done = body.done;
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
    log.push(`${init.method} ${path} ${key ?? ""}`);
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
  return {
    visit,
    log,
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
    expect(server.visit).toMatchObject({ notes: "All good", entries: 1, checklist: [{ done: true }] });
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
