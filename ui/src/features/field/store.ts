// The field app's state: what the phone holds (IndexedDB: the signed-in person, the
// day's visits with their jobs, clients and checklists, and the queue of changes),
// kept in step with the server whenever there is a connection. Screens read one
// snapshot (useField) and call the actions; nothing else talks to the API.
import { useSyncExternalStore } from "react";
import { Database, type Store } from "../../lib/offline/idb";
import { IdbQueueStorage, QUEUE_STORE } from "../../lib/offline/idbQueue";
import { MemoryStorage, Queue, type DrainResult, type QueueStorage } from "../../lib/offline/queue";
import { addDays, today, zonedInstant } from "../../lib/zoned";
import type { components } from "../../api/schema";
import { baseOf, coalesceNotes, makeSend, overlay, type Change, type MyVisit, type QueuedChange, type Visit, type VisitConflict } from "./changes";

export type User = components["schemas"]["User"];
export type Account = components["schemas"]["Account"];

export interface SignedIn {
  user: User;
  account: Account;
}

export type SyncState = "idle" | "syncing" | "waiting" | "conflict" | "unauthorized";

export interface Snapshot {
  phase: "starting" | "signed_out" | "ready";
  session?: SignedIn;
  visits: MyVisit[];
  showPrices: boolean;
  ops: QueuedChange[];
  online: boolean;
  sync: SyncState;
  syncError?: string;
  /** When the day was last read from the server. */
  fetchedAt?: string;
  loadError?: string;
  /** Why the queue is not being sent, when it is not the network. */
  blocked?: string;
}

interface Meta {
  key: string;
  value: unknown;
}

const DB_NAME = "jobber-field";
const VISITS = { name: "visits", keyPath: "id" };
const META = { name: "meta", keyPath: "key" };
const DAYS_AHEAD = 7;

interface CachedVisit {
  id: string;
  item: MyVisit;
}

class FieldStore {
  private snapshot: Snapshot = {
    phase: "starting",
    visits: [],
    showPrices: false,
    ops: [],
    online: typeof navigator === "undefined" ? true : navigator.onLine,
    sync: "idle",
  };
  private listeners = new Set<() => void>();
  private db: Database | null = null;
  private visitStore: Store<CachedVisit> | null = null;
  private meta: Store<Meta> | null = null;
  private queue!: Queue<Change>;
  private csrf: string | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private started = false;

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = () => this.snapshot;

  private set(patch: Partial<Snapshot>) {
    this.snapshot = { ...this.snapshot, ...patch };
    for (const listener of this.listeners) listener();
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    let storage: QueueStorage<Change>;
    try {
      this.db = await Database.open(DB_NAME, 1, [QUEUE_STORE, VISITS, META]);
      this.visitStore = this.db.store<CachedVisit>(VISITS.name);
      this.meta = this.db.store<Meta>(META.name);
      storage = new IdbQueueStorage<Change>(this.db.store(QUEUE_STORE.name));
    } catch {
      // Private windows of some browsers have no IndexedDB: work, but say so.
      storage = new MemoryStorage<Change>();
      this.set({ loadError: "This browser cannot keep data on the phone: stay online until your changes are sent." });
    }
    this.queue = new Queue<Change>(
      storage,
      makeSend({
        fetch: (input, init) => fetch(input, init),
        csrf: () => this.csrf,
        refreshSession: async () => (await this.fetchSession()) === "ok",
      }),
      { onDone: (op, result) => this.applied(op, result), onChange: () => void this.loadOps() },
    );
    window.addEventListener("online", () => {
      this.set({ online: true });
      void this.queue.retryNow().then(() => this.sync());
    });
    window.addEventListener("offline", () => this.set({ online: false }));
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") void this.sync();
    });

    // What the phone holds first: the app works with no network.
    const session = (await this.meta?.get("session"))?.value as SignedIn | undefined;
    const day = (await this.meta?.get("day"))?.value as { showPrices: boolean; fetchedAt: string } | undefined;
    const cached = ((await this.visitStore?.all()) ?? []).map((c) => c.item);
    await this.loadOps();
    this.set({
      session,
      visits: sortVisits(cached),
      showPrices: day?.showPrices ?? false,
      fetchedAt: day?.fetchedAt,
      phase: session ? "ready" : "starting",
    });

    const fresh = await this.fetchSession();
    if (fresh === "signed_out") this.set({ phase: "signed_out" });
    else if (fresh === "offline" && !session) this.set({ phase: "signed_out", loadError: "You are offline. Sign in once with a connection to use the app offline." });
    if (fresh === "ok") await this.sync();
  }

  /** Who is signed in, from the server; remembered for offline starts. */
  private async fetchSession(): Promise<"ok" | "signed_out" | "offline"> {
    let response: Response;
    try {
      response = await fetch("/api/v1/auth/session", { credentials: "same-origin", headers: { Accept: "application/json" } });
    } catch {
      return "offline";
    }
    if (response.status === 401) {
      this.csrf = null;
      return "signed_out";
    }
    if (!response.ok) return "offline";
    const body = (await response.json()) as SignedIn & { csrf_token: string };
    this.csrf = body.csrf_token;
    const session = { user: body.user, account: body.account };
    const previous = this.snapshot.session;
    if (previous && previous.user.id !== session.user.id) {
      // Someone else on this phone: their day is not ours.
      await this.visitStore?.clear();
      this.set({ visits: [] });
    }
    await this.meta?.put({ key: "session", value: session });
    this.set({ session, phase: "ready", loadError: undefined });
    return "ok";
  }

  async signIn(email: string, password: string, totp?: string): Promise<{ error?: string; code?: string }> {
    let response: Response;
    try {
      response = await fetch("/api/v1/auth/session", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(totp ? { email, password, totp_code: totp } : { email, password }),
      });
    } catch {
      return { error: "The server could not be reached. Check your connection and try again.", code: "network_error" };
    }
    if (!response.ok) {
      const problem = (await response.json().catch(() => ({}))) as { code?: string; detail?: string };
      if (problem.code === "invalid_credentials") return { error: "The email or password is incorrect.", code: problem.code };
      return { error: problem.detail ?? "Signing in failed.", code: problem.code };
    }
    const result = await this.fetchSession();
    if (result === "ok") await this.sync();
    return {};
  }

  async signOut(): Promise<void> {
    try {
      await fetch("/api/v1/auth/session", { method: "DELETE", credentials: "same-origin", headers: { "X-CSRF-Token": this.csrf ?? "" } });
    } catch {
      // Offline: the cookie stays, but the phone forgets the day.
    }
    this.csrf = null;
    // The queue (and who made it) stays: nothing done on the phone is thrown away.
    await this.meta?.delete("session");
    await this.meta?.delete("day");
    await this.visitStore?.clear();
    this.set({ session: undefined, visits: [], phase: "signed_out" });
  }

  private async loadOps() {
    this.set({ ops: await this.queue.list() });
  }

  /** A change the technician made: kept on the phone first, then sent. */
  async change(made: Change): Promise<void> {
    const change = this.withBase(made);
    // Shown at once (a ticked box stays ticked), then made durable and sent.
    const shown: QueuedChange = {
      key: `unsaved-${this.snapshot.ops.length}`,
      record: change.visitId,
      payload: change,
      createdAt: new Date().toISOString(),
      attempts: 0,
      nextAttemptAt: 0,
      state: "pending",
    };
    this.set({ ops: [...this.snapshot.ops, shown] });
    // The queue is sent only under the session of the person who made the changes.
    const owner = this.snapshot.session?.user.id;
    if (owner) await this.meta?.put({ key: "queue_owner", value: owner });
    await this.queue.enqueue(change.visitId, change, change.kind === "notes" ? coalesceNotes(change) : undefined);
    await this.loadOps();
    void this.sync();
  }

  /**
   * A tick or a completion carries what the technician saw: the cached visit's version
   * with their own waiting changes shown, as on the screen. The server checks the
   * version; on a conflict the app compares what it saw with what is there now.
   */
  private withBase(change: Change): Change {
    if (change.kind !== "tick" && change.kind !== "complete") return change;
    const by = this.snapshot.session?.user.id;
    const item = this.snapshot.visits.find((v) => v.visit.id === change.visitId);
    if (!by || !item) return change;
    const seen = overlay(
      item.visit,
      this.snapshot.ops.filter((o) => o.record === change.visitId),
      by,
    );
    return { ...change, base: baseOf({ ...seen, version: item.visit.version }, by) };
  }

  async resolve(seq: number, payload: Change | null): Promise<void> {
    await this.queue.resolve(seq, payload);
    await this.loadOps();
    void this.sync();
  }

  /** Text the client that the technician is on the way: needs a connection. */
  async onMyWay(visitId: string): Promise<string> {
    try {
      const response = await fetch(`/api/v1/visits/${visitId}/on-my-way`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": this.csrf ?? "", "Idempotency-Key": crypto.randomUUID() },
        body: "{}",
      });
      const body = (await response.json().catch(() => ({}))) as { to?: string; detail?: string };
      if (response.ok) return `The client was texted that you are on the way (${body.to ?? ""}).`;
      return body.detail ?? `The text could not be sent (${response.status}).`;
    } catch {
      return "The server could not be reached: the text was not sent.";
    }
  }

  /** A confirmed change: the server's visit replaces the cached one. */
  private async applied(_op: QueuedChange, result: unknown) {
    const visit = result as Visit | undefined;
    if (!visit || typeof visit !== "object" || !("id" in visit) || !("version" in visit)) return;
    const cached = this.snapshot.visits.find((v) => v.visit.id === visit.id);
    if (!cached) return;
    const item: MyVisit = { ...cached, visit: { ...visit, work: visit.work ?? cached.visit.work } };
    await this.visitStore?.put({ id: visit.id, item });
    this.set({ visits: this.snapshot.visits.map((v) => (v.visit.id === visit.id ? item : v)) });
  }

  /** Send the queue, then read the day again. */
  async sync(): Promise<void> {
    if (!this.queue || !this.snapshot.session) return;
    clearTimeout(this.timer);
    this.set({ sync: "syncing" });
    if (!this.csrf && (await this.fetchSession()) !== "ok") {
      this.set({ sync: "waiting", syncError: "offline" });
      this.timer = setTimeout(() => void this.sync(), 15_000);
      return;
    }
    const owner = (await this.meta?.get("queue_owner"))?.value as string | undefined;
    const queued = (await this.queue.list()).length;
    if (queued > 0 && owner && owner !== this.snapshot.session.user.id) {
      this.set({ sync: "waiting", blocked: "Changes made by someone else who used this phone have not been sent yet: they need to sign in here to send them." });
      return;
    }
    if (this.snapshot.blocked) this.set({ blocked: undefined });
    const result: DrainResult = await this.queue.drain();
    await this.loadOps();
    switch (result.type) {
      case "waiting":
        this.set({ sync: "waiting", syncError: result.error });
        this.timer = setTimeout(() => void this.sync(), result.ms);
        return;
      case "conflict": {
        // The office's version of the visit is shown under the conflict (and is what a
        // change made now is based on).
        const theirs = result.op.theirs as VisitConflict | undefined;
        if (theirs?.kind === "visit" && theirs.visit) await this.applied(result.op as QueuedChange, theirs.visit);
        this.set({ sync: "conflict", syncError: undefined });
        return;
      }
      case "unauthorized":
        this.csrf = null;
        this.set({ sync: "unauthorized", phase: "signed_out" });
        return;
      case "idle":
        break;
    }
    await this.refresh();
  }

  /** Read today's and the coming week's visits into the phone. */
  private async refresh(): Promise<void> {
    const session = this.snapshot.session;
    if (!session) return;
    const zone = session.account.time_zone;
    const first = today(zone);
    const from = zonedInstant(first, 0, zone).toISOString();
    const to = zonedInstant(addDays(first, DAYS_AHEAD + 1), 0, zone).toISOString();
    let response: Response;
    try {
      response = await fetch(`/api/v1/me/visits?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
    } catch {
      this.set({ sync: "waiting", syncError: "offline" });
      this.timer = setTimeout(() => void this.sync(), 30_000);
      return;
    }
    if (response.status === 401) {
      this.set({ sync: "unauthorized", phase: "signed_out" });
      return;
    }
    if (!response.ok) {
      this.set({ sync: "waiting", syncError: `The server answered ${response.status}` });
      this.timer = setTimeout(() => void this.sync(), 30_000);
      return;
    }
    const day = (await response.json()) as { visits: MyVisit[]; show_prices: boolean };
    const fetchedAt = new Date().toISOString();
    await this.visitStore?.replaceAll(day.visits.map((item) => ({ id: item.visit.id, item })));
    await this.meta?.put({ key: "day", value: { showPrices: day.show_prices, fetchedAt } });
    this.set({ visits: sortVisits(day.visits), showPrices: day.show_prices, fetchedAt, sync: "idle", syncError: undefined });
    // Read again in a few minutes: the office may move things.
    this.timer = setTimeout(() => void this.sync(), 5 * 60_000);
  }
}

function sortVisits(visits: MyVisit[]): MyVisit[] {
  return [...visits].sort((a, b) => (a.visit.starts_at ?? "").localeCompare(b.visit.starts_at ?? ""));
}

export const field = new FieldStore();

export function useField(): Snapshot {
  return useSyncExternalStore(field.subscribe, field.getSnapshot);
}
