// The queue's storage in IndexedDB: one record per change, keyed by an increasing
// `seq`, so reading the store back gives the changes in the order they were made.
import type { QueueStorage, QueuedOp } from "./queue";
import type { Store } from "./idb";

export const QUEUE_STORE = { name: "queue", keyPath: "seq", autoIncrement: true } as const;

export class IdbQueueStorage<P> implements QueueStorage<P> {
  constructor(private readonly store: Store<QueuedOp<P>>) {}

  all(): Promise<QueuedOp<P>[]> {
    return this.store.all();
  }

  async put(op: QueuedOp<P>): Promise<number> {
    // Without `seq` the store numbers it; an explicit `undefined` would be refused.
    const { seq, ...rest } = op;
    const key = await this.store.put((seq === undefined ? rest : op) as QueuedOp<P>);
    return Number(key);
  }

  delete(seq: number): Promise<void> {
    return this.store.delete(seq);
  }
}
