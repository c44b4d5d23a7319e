// The live connection (docs/events.md "The live connection"): one WebSocket per tab
// to GET /api/v1/ws, authenticated by the session cookie the browser sends with the
// upgrade (the hub checks it and its Origin, like any cookie request). Screens follow
// topics with useLiveTopic; an event on a topic invalidates the TanStack Query caches
// it concerns, so whatever a screen shows refetches without a reload. The connection
// keeps the largest `seq` seen and, after a drop, reconnects with backoff and resumes
// with `?since=`; `resync_required` (the gap is too old or too long) refetches.
// Heartbeats are the server's WebSocket pings, which browsers answer by themselves.
import { useEffect, useRef } from "react";
import { useQueryClient, type QueryClient } from "@tanstack/react-query";

export interface LiveEvent {
  type: string;
  topic: string;
  id: string;
  seq: number;
  at: string;
  data: Record<string, unknown>;
}

type Listener = (event: LiveEvent) => void;

/** The query keys (first element) an event or a resync of a topic makes stale. */
export function staleKeys(type: string): string[] {
  const kind = type.split(".")[0] ?? "";
  switch (kind) {
    case "job":
    case "visit":
    case "schedule":
      return ["schedule", "jobs", "visits", "reports"];
    case "client":
      return ["clients"];
    case "request":
      return ["requests"];
    case "quote":
      return ["quotes", "clients", "reports"];
    case "invoice":
    case "payment":
      return ["invoices", "clients", "reports"];
    default:
      return [];
  }
}

function topicKeys(topic: string): string[] {
  if (topic === "schedule" || topic.startsWith("job:")) return staleKeys("job");
  if (topic.startsWith("client:")) return ["clients", "quotes", "jobs", "invoices"];
  return ["schedule", "jobs", "visits", "clients", "quotes", "invoices", "reports"];
}

/** The parts of the browser the connection uses; tests pass fakes. */
export interface LiveEnv {
  WebSocket: new (url: string) => WebSocketLike;
  /** The socket's address: each connection asks anew. */
  url: () => Promise<string>;
  setTimeout: (fn: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
  random: () => number;
}

export interface WebSocketLike {
  readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number): void;
}

const OPEN = 1;
const BASE_DELAY = 500;
const MAX_DELAY = 30_000;
/** How long after the last listener leaves the socket stays open (a screen change). */
const LINGER = 5_000;
/** Invalidations within this window are done once. */
const BATCH = 150;

export class LiveConnection {
  private socket: WebSocketLike | null = null;
  private listeners = new Map<string, Set<Listener>>();
  private attempts = 0;
  private retry: unknown = null;
  private linger: unknown = null;
  private flush: unknown = null;
  private pending = new Set<string>();
  private queryClient: QueryClient | null = null;
  private generation = 0;
  /** The largest event `seq` seen: where a reconnect resumes. */
  lastSeq: number | null = null;
  status: "idle" | "connecting" | "open" | "waiting" = "idle";

  constructor(private env: LiveEnv) {}

  attach(client: QueryClient): void {
    this.queryClient = client;
  }

  /** Follow a topic; returns the function that stops following it. */
  subscribe(topic: string, listener: Listener): () => void {
    let set = this.listeners.get(topic);
    const isNew = !set;
    if (!set) {
      set = new Set();
      this.listeners.set(topic, set);
    }
    set.add(listener);
    if (this.linger !== null) {
      this.env.clearTimeout(this.linger);
      this.linger = null;
    }
    if (this.status === "idle") this.connect();
    else if (isNew && this.socket?.readyState === OPEN) this.send({ type: "subscribe", topics: [topic] });
    return () => {
      set.delete(listener);
      if (set.size > 0 || this.listeners.get(topic) !== set) return;
      this.listeners.delete(topic);
      if (this.socket?.readyState === OPEN) this.send({ type: "unsubscribe", topics: [topic] });
      if (this.listeners.size === 0) {
        this.linger = this.env.setTimeout(() => {
          this.linger = null;
          if (this.listeners.size === 0) this.stop();
        }, LINGER);
      }
    };
  }

  /** The network is back (or the tab is shown again): a waiting reconnect goes now. */
  nudge(): void {
    if (this.status !== "waiting") return;
    if (this.retry !== null) this.env.clearTimeout(this.retry);
    this.retry = null;
    this.attempts = 0;
    this.connect();
  }

  /** Close and forget the socket (sign-out, no more listeners). */
  stop(): void {
    this.generation += 1;
    if (this.retry !== null) this.env.clearTimeout(this.retry);
    this.retry = null;
    const socket = this.socket;
    this.socket = null;
    this.status = "idle";
    this.attempts = 0;
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      socket.close(1000);
    }
  }

  private connect(): void {
    this.retry = null;
    this.status = "connecting";
    const attempt = ++this.generation;
    this.env.url().then(
      (base) => {
        if (attempt !== this.generation || this.status !== "connecting") return;
        this.open(base);
      },
      () => {
        if (attempt !== this.generation || this.status !== "connecting") return;
        this.reconnectLater();
      },
    );
  }

  private open(base: string): void {
    const url = this.lastSeq === null ? base : `${base}${base.includes("?") ? "&" : "?"}since=${this.lastSeq}`;
    let socket: WebSocketLike;
    try {
      socket = new this.env.WebSocket(url);
    } catch {
      this.reconnectLater();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.status = "open";
      const topics = [...this.listeners.keys()];
      if (topics.length > 0) this.send({ type: "subscribe", topics });
    };
    socket.onmessage = (message) => {
      if (typeof message.data === "string") this.receive(message.data);
    };
    socket.onerror = () => {
      /* a close follows */
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.reconnectLater();
    };
  }

  private reconnectLater(): void {
    if (this.listeners.size === 0) {
      this.status = "idle";
      return;
    }
    this.status = "waiting";
    // Exponential, capped, with jitter so a restarted server is not hit by every tab at once.
    const ceiling = Math.min(MAX_DELAY, BASE_DELAY * 2 ** this.attempts);
    const delay = Math.round(ceiling / 2 + (this.env.random() * ceiling) / 2);
    this.attempts += 1;
    this.retry = this.env.setTimeout(() => this.connect(), delay);
  }

  private send(message: unknown): void {
    this.socket?.send(JSON.stringify(message));
  }

  private receive(text: string): void {
    let message: { type?: string; topic?: string; topics?: string[]; seq?: number };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return;
    }
    switch (message.type) {
      case "welcome":
        // A good connection: the next drop starts the backoff again from the bottom.
        this.attempts = 0;
        if (this.lastSeq === null && typeof message.seq === "number") this.lastSeq = message.seq;
        return;
      case "subscribed":
      case "unsubscribed":
      case "pong":
      case "error":
        return;
      case "resync_required": {
        if (typeof message.seq === "number") this.lastSeq = message.seq;
        for (const topic of message.topics ?? []) for (const key of topicKeys(topic)) this.pending.add(key);
        this.scheduleFlush();
        return;
      }
      default:
        if (typeof message.topic === "string" && typeof message.seq === "number") {
          this.event(message as LiveEvent);
        }
    }
  }

  private event(event: LiveEvent): void {
    if (this.lastSeq === null || event.seq > this.lastSeq) this.lastSeq = event.seq;
    for (const key of staleKeys(event.type)) this.pending.add(key);
    this.scheduleFlush();
    for (const listener of this.listeners.get(event.topic) ?? []) {
      try {
        listener(event);
      } catch (error) {
        console.error(error);
      }
    }
  }

  private scheduleFlush(): void {
    if (this.flush !== null) return;
    this.flush = this.env.setTimeout(() => {
      this.flush = null;
      const keys = [...this.pending];
      this.pending.clear();
      for (const key of keys) void this.queryClient?.invalidateQueries({ queryKey: [key] });
    }, BATCH);
  }
}

let shared: LiveConnection | null = null;

/** The tab's one connection, made on first use. */
export function liveConnection(): LiveConnection {
  if (!shared) {
    shared = new LiveConnection({
      WebSocket: globalThis.WebSocket as unknown as LiveEnv["WebSocket"],
      // No ticket: the browser sends the session cookie with the upgrade request.
      url: async () => `${globalThis.location.origin.replace(/^http/, "ws")}/api/v1/ws`,
      setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
      clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
      random: Math.random,
    });
    const connection = shared;
    globalThis.addEventListener?.("online", () => connection.nudge());
    globalThis.document?.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") connection.nudge();
    });
  }
  return shared;
}

/** Close the tab's connection (sign-out). */
export function stopLive(): void {
  shared?.stop();
}

/**
 * Follow a topic (`schedule`, `job:{id}`, `client:{id}`, `account`) while the calling
 * screen is shown. Events invalidate the queries they concern on their own;
 * `onEvent`, if given, is called with each event too.
 */
export function useLiveTopic(topic: string | null, onEvent?: (event: LiveEvent) => void): void {
  const queryClient = useQueryClient();
  const handler = useRef(onEvent);
  useEffect(() => {
    handler.current = onEvent;
  });
  useEffect(() => {
    if (!topic || typeof globalThis.WebSocket !== "function") return;
    const connection = liveConnection();
    connection.attach(queryClient);
    return connection.subscribe(topic, (event) => handler.current?.(event));
  }, [topic, queryClient]);
}
