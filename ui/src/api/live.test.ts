import { QueryClient } from "@tanstack/react-query";
import { describe, expect, it, vi } from "vitest";
import { LiveConnection, type LiveEvent, type WebSocketLike } from "./live";

class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  closed = false;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.closed = true;
  }
  // The server's side.
  open(seq: number) {
    this.readyState = 1;
    this.onopen?.({});
    this.push({ type: "welcome", user_id: "u", role: "dispatcher", seq });
  }
  push(message: unknown) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

function setup() {
  FakeSocket.all = [];
  const timers: { fn: () => void; ms: number; id: number }[] = [];
  let next = 1;
  let tickets = 0;
  const env = {
    WebSocket: FakeSocket,
    url: () => Promise.resolve(`ws://office.example/api/v1/ws?ticket=t${(tickets += 1)}`),
    setTimeout: (fn: () => void, ms: number) => {
      const id = next++;
      timers.push({ fn, ms, id });
      return id;
    },
    clearTimeout: (id: unknown) => {
      const i = timers.findIndex((t) => t.id === id);
      if (i >= 0) timers.splice(i, 1);
    },
    random: () => 1,
  };
  const queryClient = new QueryClient();
  const invalidate = vi.spyOn(queryClient, "invalidateQueries");
  const live = new LiveConnection(env);
  live.attach(queryClient);
  /** Let the ticket's promise settle. */
  const settle = () => new Promise((resolve) => globalThis.setTimeout(resolve, 0));
  /** Run the earliest timer; its delay. */
  const tick = async () => {
    timers.sort((a, b) => a.ms - b.ms);
    const t = timers.shift();
    t?.fn();
    await settle();
    return t?.ms;
  };
  const runAll = async () => {
    while (timers.length) await tick();
  };
  return { live, timers, tick, runAll, settle, invalidate, socket: () => FakeSocket.all[FakeSocket.all.length - 1]! };
}

const event = (seq: number, type = "schedule.changed"): LiveEvent => ({
  type,
  topic: "schedule",
  id: `acct:${seq}`,
  seq,
  at: "2026-12-03T09:14:03.512Z",
  data: { visit_id: "v", job_id: "j" },
});

describe("the live connection", async () => {
  it("subscribes once open, hands events to listeners and invalidates the schedule's queries", async () => {
    const t = setup();
    const seen: number[] = [];
    t.live.subscribe("schedule", (e) => seen.push(e.seq));
    await t.settle();
    expect(t.socket().url).toBe("ws://office.example/api/v1/ws?ticket=t1");
    t.socket().open(41);
    expect(t.socket().sent).toEqual([{ type: "subscribe", topics: ["schedule"] }]);
    t.socket().push(event(42));
    t.socket().push(event(43, "visit.updated"));
    expect(seen).toEqual([42, 43]);
    expect(t.live.lastSeq).toBe(43);
    await t.runAll();
    const keys = t.invalidate.mock.calls.map((c) => c[0]?.queryKey?.[0]);
    expect(keys).toEqual(expect.arrayContaining(["schedule", "jobs", "visits"]));
    // Two events in a burst: each key invalidated once.
    expect(keys.filter((k) => k === "schedule")).toHaveLength(1);
  });

  it("reconnects with growing delays and resumes after the last seq", async () => {
    const t = setup();
    t.live.subscribe("schedule", async () => {});
    await t.settle();
    t.socket().open(41);
    t.socket().push(event(42));
    await t.runAll();
    t.socket().drop();
    expect(t.live.status).toBe("waiting");
    const first = await t.tick();
    expect(FakeSocket.all).toHaveLength(2);
    // A fresh ticket each time, and where to resume.
    expect(t.socket().url).toBe("ws://office.example/api/v1/ws?ticket=t2&since=42");
    // The server is still down: each wait is longer, up to 30 s.
    t.socket().drop();
    const second = await t.tick();
    t.socket().drop();
    const third = await t.tick();
    expect(first).toBe(500);
    expect(second).toBe(1000);
    expect(third).toBe(2000);
    for (let i = 0; i < 10; i += 1) {
      t.socket().drop();
      expect(await t.tick()).toBeLessThanOrEqual(30_000);
    }
    // Back: it subscribes again, and replayed events after 42 arrive.
    const seen: number[] = [];
    t.live.subscribe("job:j", (e) => seen.push(e.seq));
    t.socket().open(45);
    expect(t.socket().sent).toEqual([{ type: "subscribe", topics: ["schedule", "job:j"] }]);
    t.socket().push({ ...event(44), topic: "job:j" });
    expect(seen).toEqual([44]);
    expect(t.live.lastSeq).toBe(44);
    await t.runAll();
    // A good connection resets the backoff.
    t.socket().drop();
    expect(await t.tick()).toBe(500);
  });

  it("refetches on resync_required and carries on from the seq it names", async () => {
    const t = setup();
    t.live.subscribe("schedule", async () => {});
    await t.settle();
    t.socket().open(10);
    await t.runAll();
    t.invalidate.mockClear();
    t.socket().push({ type: "resync_required", topics: ["schedule"], seq: 2000 });
    await t.runAll();
    expect(t.invalidate.mock.calls.map((c) => c[0]?.queryKey?.[0])).toEqual(expect.arrayContaining(["schedule", "jobs", "visits"]));
    expect(t.live.lastSeq).toBe(2000);
    t.socket().drop();
    await t.tick();
    expect(t.socket().url).toBe("ws://office.example/api/v1/ws?ticket=t2&since=2000");
  });

  it("unsubscribes topics no screen follows, and closes when none is left", async () => {
    const t = setup();
    const stop = t.live.subscribe("schedule", async () => {});
    await t.settle();
    const socket = t.socket();
    socket.open(1);
    stop();
    expect(socket.sent).toContainEqual({ type: "unsubscribe", topics: ["schedule"] });
    await t.runAll();
    expect(socket.closed).toBe(true);
    expect(t.live.status).toBe("idle");
    // A drop with nobody listening does not reconnect.
    socket.drop();
    expect(FakeSocket.all).toHaveLength(1);
  });
});

describe("the live connection when the network fails", () => {
  it("waits and tries again when the ticket cannot be had", async () => {
    FakeSocket.all = [];
    const timers: { fn: () => void; ms: number }[] = [];
    let fail = true;
    const live = new LiveConnection({
      WebSocket: FakeSocket,
      url: () => (fail ? Promise.reject(new Error("offline")) : Promise.resolve("ws://office.example/api/v1/ws?ticket=x")),
      setTimeout: (fn: () => void, ms: number) => timers.push({ fn, ms }),
      clearTimeout: () => {},
      random: () => 1,
    });
    live.subscribe("schedule", () => {});
    await new Promise((r) => globalThis.setTimeout(r, 0));
    expect(FakeSocket.all).toHaveLength(0);
    expect(live.status).toBe("waiting");
    fail = false;
    timers.shift()?.fn();
    await new Promise((r) => globalThis.setTimeout(r, 0));
    expect(FakeSocket.all).toHaveLength(1);
  });

  it("reconnects at once when the network comes back", async () => {
    const t = setup();
    t.live.subscribe("schedule", () => {});
    await t.settle();
    t.socket().open(1);
    for (let i = 0; i < 6; i += 1) {
      t.socket().drop();
      await t.tick();
    }
    t.socket().drop();
    expect(t.live.status).toBe("waiting");
    t.live.nudge();
    await t.settle();
    expect(FakeSocket.all).toHaveLength(8);
    expect(t.live.status).toBe("connecting");
  });
});
