// The durable queue of changes made on the phone: every change is stored before it
// is sent, replayed strictly in the order it was made, and removed only when the
// server has confirmed it. Nothing here knows about visits or HTTP: the caller gives
// the storage (IndexedDB in the app, memory in tests) and `send`, which does one
// change and says what happened.
//
// - Each change has a key made once, when it is queued, and sent as its
//   `Idempotency-Key` on every attempt, so a replay after a lost answer is
//   recognised by the server and never applied twice.
// - A network error, a 5xx or a 429 is retried with exponential backoff; the changes
//   behind it wait (order matters: clock out of one visit before clocking in to the
//   next).
// - A conflict (the office changed the same thing meanwhile) stops the queue and is
//   kept with both versions until the person resolves it; nothing is overwritten.
// - A change the server refuses for good (a 4xx that no retry can fix) is kept, marked
//   failed with the reason, and shown; the queue goes on with the next one.

export type OpState = "pending" | "conflict" | "failed";

export interface QueuedOp<P> {
  /** Position in the queue, given by the storage. */
  seq?: number;
  /** The Idempotency-Key of this change, fixed when it was queued. */
  key: string;
  /** What the change is about (e.g. a visit id): shown together, coalesced together. */
  record: string;
  payload: P;
  createdAt: string;
  attempts: number;
  /** Epoch ms before which it is not tried again. */
  nextAttemptAt: number;
  state: OpState;
  error?: string;
  /** The server's side of a conflict, as `send` reported it. */
  theirs?: unknown;
}

export interface QueueStorage<P> {
  /** Every op, in `seq` order. */
  all(): Promise<QueuedOp<P>[]>;
  /** Store an op; returns its seq (a new one when it had none). */
  put(op: QueuedOp<P>): Promise<number>;
  delete(seq: number): Promise<void>;
}

export type Outcome =
  | { type: "done"; result?: unknown }
  | { type: "retry"; error: string }
  | { type: "conflict"; theirs: unknown; error?: string }
  | { type: "failed"; error: string }
  /** Not signed in any more: stop, keep everything, try again after sign-in. */
  | { type: "unauthorized" };

/** Save a step of a change made of several requests (an upload, then its attachment). */
export type Checkpoint<P> = (payload: P) => Promise<void>;

export type Send<P> = (op: QueuedOp<P>, checkpoint: Checkpoint<P>) => Promise<Outcome>;

export type DrainResult =
  | { type: "idle" }
  | { type: "waiting"; ms: number; error: string }
  | { type: "conflict"; op: QueuedOp<unknown> }
  | { type: "unauthorized" };

export interface QueueOptions<P> {
  now?: () => number;
  /** A fresh Idempotency-Key. */
  newKey?: () => string;
  /** 0..1, for the backoff's jitter. */
  random?: () => number;
  /** Called after each confirmed change with what `send` returned. */
  onDone?: (op: QueuedOp<P>, result: unknown) => void | Promise<void>;
  onChange?: () => void;
}

const BASE_DELAY_MS = 1_000;
const MAX_DELAY_MS = 60_000;

/** The wait before attempt `attempts + 1`: 1 s, 2 s, 4 s … up to a minute, ±20 %. */
export function backoff(attempts: number, random: () => number = Math.random): number {
  const exact = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, attempts - 1));
  return Math.round(exact * (0.8 + 0.4 * random()));
}

function uuid(): string {
  return globalThis.crypto.randomUUID();
}

export class Queue<P> {
  private readonly now: () => number;
  private readonly newKey: () => string;
  private readonly random: () => number;
  private running: Promise<DrainResult> | null = null;
  private inFlight: number | undefined;

  constructor(
    private readonly storage: QueueStorage<P>,
    private readonly send: Send<P>,
    private readonly options: QueueOptions<P> = {},
  ) {
    this.now = options.now ?? Date.now;
    this.newKey = options.newKey ?? uuid;
    this.random = options.random ?? Math.random;
  }

  list(): Promise<QueuedOp<P>[]> {
    return this.storage.all();
  }

  /**
   * Queue a change; it is durable when this resolves. `coalesce` may fold it into a
   * queued change of the same record that was never sent (typing a note twice makes
   * one change): return the merged payload, or null to queue it separately.
   */
  async enqueue(record: string, payload: P, coalesce?: (queued: QueuedOp<P>) => P | null): Promise<QueuedOp<P>> {
    if (coalesce) {
      const ops = await this.storage.all();
      for (let i = ops.length - 1; i >= 0; i--) {
        const queued = ops[i];
        if (!queued || queued.record !== record || queued.state !== "pending" || queued.attempts > 0 || queued.seq === this.inFlight) continue;
        const merged = coalesce(queued);
        if (merged !== null) {
          const op = { ...queued, payload: merged };
          await this.storage.put(op);
          this.options.onChange?.();
          return op;
        }
      }
    }
    const op: QueuedOp<P> = {
      key: this.newKey(),
      record,
      payload,
      createdAt: new Date(this.now()).toISOString(),
      attempts: 0,
      nextAttemptAt: 0,
      state: "pending",
    };
    op.seq = await this.storage.put(op);
    this.options.onChange?.();
    return op;
  }

  /** Send what is due, in order, until the queue is empty or something must wait. */
  drain(): Promise<DrainResult> {
    if (!this.running) {
      this.running = this.run().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  private async run(): Promise<DrainResult> {
    for (;;) {
      const ops = await this.storage.all();
      const op = ops.find((o) => o.state !== "failed");
      if (!op || op.seq === undefined) return { type: "idle" };
      if (op.state === "conflict") return { type: "conflict", op: op as QueuedOp<unknown> };
      const wait = op.nextAttemptAt - this.now();
      if (wait > 0) return { type: "waiting", ms: wait, error: op.error ?? "" };

      this.inFlight = op.seq;
      let outcome: Outcome;
      try {
        outcome = await this.send(op, async (payload) => {
          op.payload = payload;
          await this.storage.put(op);
        });
      } catch (error) {
        outcome = { type: "retry", error: error instanceof Error ? error.message : String(error) };
      } finally {
        this.inFlight = undefined;
      }

      switch (outcome.type) {
        case "done":
          await this.storage.delete(op.seq);
          await this.options.onDone?.(op, outcome.result);
          this.options.onChange?.();
          continue;
        case "retry": {
          op.attempts += 1;
          op.error = outcome.error;
          const ms = backoff(op.attempts, this.random);
          op.nextAttemptAt = this.now() + ms;
          await this.storage.put(op);
          this.options.onChange?.();
          return { type: "waiting", ms, error: outcome.error };
        }
        case "conflict":
          op.state = "conflict";
          op.theirs = outcome.theirs;
          op.error = outcome.error;
          await this.storage.put(op);
          this.options.onChange?.();
          return { type: "conflict", op: op as QueuedOp<unknown> };
        case "failed":
          op.state = "failed";
          op.error = outcome.error;
          await this.storage.put(op);
          this.options.onChange?.();
          continue;
        case "unauthorized":
          return { type: "unauthorized" };
      }
    }
  }

  /**
   * Settle a conflict or a failure: `payload` is sent instead (a new request, so a
   * new key), `null` drops the change.
   */
  async resolve(seq: number, payload: P | null): Promise<void> {
    const op = (await this.storage.all()).find((o) => o.seq === seq);
    if (!op) return;
    if (payload === null) {
      await this.storage.delete(seq);
    } else {
      // A different request from the one first sent: it needs its own key, or the
      // server would answer the stored reply of the first.
      await this.storage.put({
        ...op,
        key: this.newKey(),
        payload,
        attempts: 0,
        nextAttemptAt: 0,
        state: "pending",
        error: undefined,
        theirs: undefined,
      });
    }
    this.options.onChange?.();
  }

  /** Try what waits for its backoff now (the connection came back). */
  async retryNow(): Promise<void> {
    for (const op of await this.storage.all()) {
      if (op.state === "pending" && op.nextAttemptAt > 0) {
        await this.storage.put({ ...op, nextAttemptAt: 0 });
      }
    }
  }
}

/**
 * Storage in memory, for tests and for browsers without IndexedDB. Copies are
 * shallow: the queue replaces payloads, never changes them in place, and a deep copy
 * would turn a photo's Blob into an empty object.
 */
export class MemoryStorage<P> implements QueueStorage<P> {
  private ops = new Map<number, QueuedOp<P>>();
  private next = 1;

  async all(): Promise<QueuedOp<P>[]> {
    return [...this.ops.values()].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0)).map((o) => ({ ...o }));
  }

  async put(op: QueuedOp<P>): Promise<number> {
    const seq = op.seq ?? this.next++;
    this.ops.set(seq, { ...op, seq });
    return seq;
  }

  async delete(seq: number): Promise<void> {
    this.ops.delete(seq);
  }
}
