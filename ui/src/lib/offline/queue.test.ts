import { IDBFactory } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import { Database } from "./idb";
import { IdbQueueStorage, QUEUE_STORE } from "./idbQueue";
import { backoff, MemoryStorage, Queue, type Outcome, type QueuedOp, type QueueStorage } from "./queue";

type P = { n: number };

function harness(outcomes: (op: QueuedOp<P>) => Outcome, storage: QueueStorage<P> = new MemoryStorage<P>()) {
  let clock = 1_000_000;
  let keys = 0;
  const sent: { n: number; key: string }[] = [];
  const queue = new Queue<P>(
    storage,
    async (op) => {
      sent.push({ n: op.payload.n, key: op.key });
      return outcomes(op);
    },
    { now: () => clock, newKey: () => `key-${++keys}`, random: () => 0.5 },
  );
  return { queue, sent, storage, advance: (ms: number) => (clock += ms) };
}

describe("the offline queue", () => {
  it("replays changes in the order they were made and removes them once confirmed", async () => {
    const { queue, sent } = harness(() => ({ type: "done" }));
    for (const n of [1, 2, 3]) await queue.enqueue("visit-a", { n });
    await queue.enqueue("visit-b", { n: 4 });
    expect(await queue.drain()).toEqual({ type: "idle" });
    expect(sent.map((s) => s.n)).toEqual([1, 2, 3, 4]);
    expect(await queue.list()).toEqual([]);
  });

  it("retries with growing backoff, keeps the same Idempotency-Key, and holds the later changes back", async () => {
    let failures = 3;
    const { queue, sent, advance } = harness((op) =>
      op.payload.n === 1 && failures-- > 0 ? { type: "retry", error: "offline" } : { type: "done" },
    );
    await queue.enqueue("v", { n: 1 });
    await queue.enqueue("v", { n: 2 });

    const waits: number[] = [];
    for (;;) {
      const result = await queue.drain();
      if (result.type === "idle") break;
      expect(result.type).toBe("waiting");
      if (result.type !== "waiting") break;
      waits.push(result.ms);
      // Not due yet: nothing is sent.
      const before = sent.length;
      advance(result.ms - 1);
      await queue.drain();
      expect(sent.length).toBe(before);
      advance(1);
    }
    expect(waits).toEqual([1000, 2000, 4000]);
    expect(sent.map((s) => s.n)).toEqual([1, 1, 1, 1, 2]);
    expect(new Set(sent.filter((s) => s.n === 1).map((s) => s.key))).toEqual(new Set(["key-1"]));
  });

  it("caps the backoff at a minute, with jitter", () => {
    expect(backoff(1, () => 0.5)).toBe(1000);
    expect(backoff(20, () => 0.5)).toBe(60_000);
    expect(backoff(20, () => 1)).toBe(72_000);
    expect(backoff(20, () => 0)).toBe(48_000);
  });

  it("stops at a conflict with both sides kept until the person resolves it", async () => {
    let conflicted = false;
    const { queue, sent } = harness((op) => {
      if (op.payload.n === 1 && !conflicted) {
        conflicted = true;
        return { type: "conflict", theirs: { notes: "office" } };
      }
      return { type: "done" };
    });
    await queue.enqueue("v", { n: 1 });
    await queue.enqueue("v", { n: 2 });
    const result = await queue.drain();
    expect(result.type).toBe("conflict");
    // Nothing behind it is sent, and draining again does not resend it.
    expect(await queue.drain()).toMatchObject({ type: "conflict" });
    expect(sent.map((s) => s.n)).toEqual([1]);
    const [held] = await queue.list();
    expect(held).toMatchObject({ state: "conflict", payload: { n: 1 }, theirs: { notes: "office" } });

    // Keeping their version drops ours; the rest goes on.
    await queue.resolve(held!.seq!, null);
    expect(await queue.drain()).toEqual({ type: "idle" });
    expect(sent.map((s) => s.n)).toEqual([1, 2]);
  });

  it("sends a resolution as a new request with its own key", async () => {
    let first = true;
    const { queue, sent } = harness(() => {
      if (first) {
        first = false;
        return { type: "conflict", theirs: "x" };
      }
      return { type: "done" };
    });
    const op = await queue.enqueue("v", { n: 1 });
    await queue.drain();
    await queue.resolve(op.seq!, { n: 10 });
    await queue.drain();
    expect(sent).toEqual([
      { n: 1, key: "key-1" },
      { n: 10, key: "key-2" },
    ]);
  });

  it("keeps a refused change with its reason and goes on with the others", async () => {
    const { queue, sent } = harness((op) => (op.payload.n === 1 ? { type: "failed", error: "no such item" } : { type: "done" }));
    await queue.enqueue("v", { n: 1 });
    await queue.enqueue("v", { n: 2 });
    expect(await queue.drain()).toEqual({ type: "idle" });
    expect(sent.map((s) => s.n)).toEqual([1, 2]);
    expect(await queue.list()).toMatchObject([{ state: "failed", error: "no such item", payload: { n: 1 } }]);
  });

  it("stops without losing anything when the session has ended", async () => {
    const { queue } = harness(() => ({ type: "unauthorized" }));
    await queue.enqueue("v", { n: 1 });
    expect(await queue.drain()).toEqual({ type: "unauthorized" });
    expect(await queue.list()).toHaveLength(1);
  });

  it("folds a second unsent note into the first, but never into one being sent", async () => {
    const storage = new MemoryStorage<P>();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const sent: number[] = [];
    const queue = new Queue<P>(storage, async (op) => {
      sent.push(op.payload.n);
      await gate;
      return { type: "done" };
    });
    const merge = (next: P) => (queued: QueuedOp<P>) => ({ n: queued.payload.n * 100 + next.n });
    await queue.enqueue("v", { n: 1 });
    await queue.enqueue("v", { n: 2 }, merge({ n: 2 }));
    expect((await queue.list()).map((o) => o.payload.n)).toEqual([102]);

    const draining = queue.drain();
    await Promise.resolve();
    await new Promise((r) => setTimeout(r, 0));
    // The queued note is on the wire: a new one is a change of its own.
    await queue.enqueue("v", { n: 3 }, merge({ n: 3 }));
    release();
    await draining;
    await queue.drain();
    expect(sent).toEqual([102, 3]);
  });

  it("loses nothing across a reload: the changes are read back from IndexedDB in order", async () => {
    const factory = new IDBFactory();
    const open = () => Database.open("field-test", 1, [QUEUE_STORE], factory);
    const first = await open();
    const before = harness(() => ({ type: "retry", error: "offline" }), new IdbQueueStorage<P>(first.store(QUEUE_STORE.name)));
    await before.queue.enqueue("v", { n: 1 });
    await before.queue.enqueue("v", { n: 2 });
    await before.queue.drain();
    first.close();

    // The page is reloaded: a new queue over the same database.
    const second = await open();
    const after = harness(() => ({ type: "done" }), new IdbQueueStorage<P>(second.store(QUEUE_STORE.name)));
    const ops = await after.queue.list();
    expect(ops.map((o) => [o.payload.n, o.key, o.attempts])).toEqual([
      [1, "key-1", 1],
      [2, "key-2", 0],
    ]);
    after.advance(120_000);
    expect(await after.queue.drain()).toEqual({ type: "idle" });
    // The retried change is sent with the key it was given before the reload.
    expect(after.sent).toEqual([
      { n: 1, key: "key-1" },
      { n: 2, key: "key-2" },
    ]);
    second.close();
  });
});
