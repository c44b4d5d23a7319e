// The changes a technician makes to a visit, as queued on the phone (lib/offline),
// how each is sent to the API, and how the queued ones are shown over the cached
// visit before the server has them. Pure apart from the `fetch` it is given.
import type { components } from "../../api/schema";
import type { Checkpoint, Outcome, QueuedOp } from "../../lib/offline/queue";

export type Visit = components["schemas"]["Visit"];
export type MyVisit = components["schemas"]["MyVisit"];
export type MyVisits = components["schemas"]["MyVisits"];

export type Change =
  | { kind: "tick"; visitId: string; itemId: string; done: boolean }
  | { kind: "notes"; visitId: string; notes: string; baseNotes: string | null; baseVersion: number }
  | { kind: "clock_in"; visitId: string; at: string }
  | { kind: "clock_out"; visitId: string; at: string }
  | { kind: "complete"; visitId: string; at: string }
  | {
      kind: "file";
      visitId: string;
      jobId: string;
      purpose: "photo" | "signature";
      file: Blob;
      filename: string;
      /** Set once the file is on the server (POST /uploads), before it is attached. */
      uploadId?: string;
    };

export type QueuedChange = QueuedOp<Change>;

/** The server's side of a notes conflict. */
export interface NotesConflict {
  notes: string | null;
  version: number;
}

/** What a queued note meets on the server. */
export function decideNotes(change: { notes: string; baseNotes: string | null }, current: { notes?: string | null }): "applied" | "rebase" | "conflict" {
  const now = current.notes ?? "";
  // Our own earlier attempt got there and only its answer was lost.
  if (now === change.notes) return "applied";
  // The notes are as we saw them: the version moved for other reasons (our own
  // ticks and clock-ins, the office moving the visit): write over the new version.
  if (now === (change.baseNotes ?? "")) return "rebase";
  return "conflict";
}

/** Two typed notes in one queued change: the first's base is kept. */
export function coalesceNotes(next: Change) {
  return (queued: QueuedChange): Change | null =>
    queued.payload.kind === "notes" && next.kind === "notes" ? { ...queued.payload, notes: next.notes } : null;
}

export interface Http {
  fetch: (input: string, init: RequestInit) => Promise<Response>;
  /** The session's CSRF token (cookie sessions need it on unsafe methods). */
  csrf: () => string | null;
  /** Ask the server for the session again (a new CSRF token); false when signed out. */
  refreshSession: () => Promise<boolean>;
}

interface Reply {
  status: number;
  body: unknown;
}

class Offline extends Error {}

async function call(http: Http, method: string, path: string, options: { json?: unknown; form?: FormData; key?: string } = {}): Promise<Reply> {
  const attempt = async () => {
    const headers = new Headers({ Accept: "application/json" });
    const token = http.csrf();
    if (token && method !== "GET") headers.set("X-CSRF-Token", token);
    if (options.key) headers.set("Idempotency-Key", options.key);
    let body: BodyInit | undefined;
    if (options.json !== undefined) {
      headers.set("Content-Type", "application/json");
      body = JSON.stringify(options.json);
    } else if (options.form) {
      body = options.form;
    }
    let response: Response;
    try {
      response = await http.fetch(path, { method, headers, body, credentials: "same-origin" });
    } catch (error) {
      throw new Offline(error instanceof Error ? error.message : "network error");
    }
    const text = await response.text().catch(() => "");
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: response.status, body: parsed };
  };
  const reply = await attempt();
  if (reply.status === 403 && code(reply) === "csrf_failed" && (await http.refreshSession())) return attempt();
  return reply;
}

function code(reply: Reply): string | undefined {
  const body = reply.body as { code?: string } | undefined;
  return body?.code;
}

function detail(reply: Reply): string {
  const body = reply.body as { detail?: string; title?: string } | undefined;
  return body?.detail ?? body?.title ?? `The server answered ${reply.status}`;
}

/** What a reply that is not a success means for the queue. */
function trouble(reply: Reply): Outcome {
  if (reply.status === 401) return { type: "unauthorized" };
  if (reply.status === 403 && code(reply) === "csrf_failed") return { type: "unauthorized" };
  if (reply.status >= 500 || reply.status === 408 || reply.status === 429) return { type: "retry", error: detail(reply) };
  if (reply.status === 409 && code(reply) === "idempotency_in_progress") return { type: "retry", error: detail(reply) };
  return { type: "failed", error: detail(reply) };
}

const ok = (reply: Reply) => reply.status >= 200 && reply.status < 300;

/** The API base: the same origin as the page. */
const API = "/api/v1";

/** Send one queued change. Network errors become retries; nothing throws. */
export function makeSend(http: Http) {
  return async (op: QueuedChange, checkpoint: Checkpoint<Change>): Promise<Outcome> => {
    try {
      return await sendChange(http, op, checkpoint);
    } catch (error) {
      if (error instanceof Offline) return { type: "retry", error: "offline" };
      throw error;
    }
  };
}

async function sendChange(http: Http, op: QueuedChange, checkpoint: Checkpoint<Change>): Promise<Outcome> {
  const change = op.payload;
  const visit = `${API}/visits/${change.visitId}`;
  switch (change.kind) {
    case "tick": {
      const reply = await call(http, "PATCH", `${visit}/checklist/${change.itemId}`, { json: { done: change.done }, key: op.key });
      return ok(reply) ? { type: "done", result: reply.body } : trouble(reply);
    }
    case "notes":
      return sendNotes(http, op.key, change);
    case "clock_in":
    case "clock_out": {
      const path = `${visit}/${change.kind === "clock_in" ? "clock-in" : "clock-out"}`;
      const reply = await call(http, "POST", path, { json: { at: change.at }, key: op.key });
      return ok(reply) ? { type: "done", result: reply.body } : trouble(reply);
    }
    case "complete": {
      const reply = await call(http, "POST", `${visit}/complete`, { key: op.key });
      return ok(reply) ? { type: "done", result: reply.body } : trouble(reply);
    }
    case "file": {
      let uploadId = change.uploadId;
      if (!uploadId) {
        const form = new FormData();
        form.append("file", change.file, change.filename);
        const reply = await call(http, "POST", `${API}/uploads`, { form, key: `${op.key}:upload` });
        if (!ok(reply)) return trouble(reply);
        uploadId = (reply.body as { id: string }).id;
        await checkpoint({ ...change, uploadId });
      }
      const reply = await call(http, "POST", `${API}/jobs/${change.jobId}/attachments`, {
        // What it is travels with it: the office shows a signature as the visit's, not as a photo.
        json: { upload_id: uploadId, visit_id: change.visitId, kind: change.purpose },
        key: `${op.key}:attach:${uploadId}`,
      });
      if (ok(reply)) return { type: "done", result: undefined };
      // The upload expired (24 hours) or was lost: send the file again.
      if (reply.status === 410 || (reply.status === 404 && code(reply) === "upload_not_found")) {
        await checkpoint({ ...change, uploadId: undefined });
        return { type: "retry", error: "the upload expired; sending the photo again" };
      }
      return trouble(reply);
    }
  }
}

async function sendNotes(http: Http, key: string, change: Extract<Change, { kind: "notes" }>): Promise<Outcome> {
  let version = change.baseVersion;
  // A few rounds: each rebase may meet another change of the visit.
  for (let round = 0; round < 3; round++) {
    const reply = await call(http, "PATCH", `${API}/visits/${change.visitId}`, {
      json: { notes: change.notes, version },
      key: `${key}:${version}`,
    });
    if (ok(reply)) return { type: "done", result: reply.body };
    if (reply.status !== 409 && reply.status !== 412) return trouble(reply);
    const current = await call(http, "GET", `${API}/visits/${change.visitId}`);
    if (!ok(current)) return trouble(current);
    const server = current.body as Visit;
    switch (decideNotes(change, server)) {
      case "applied":
        return { type: "done", result: server };
      case "conflict":
        return {
          type: "conflict",
          theirs: { notes: server.notes ?? null, version: server.version } satisfies NotesConflict,
          error: "The office changed the notes of this visit while you were offline.",
        };
      case "rebase":
        version = server.version;
    }
  }
  return { type: "retry", error: "the visit keeps changing; trying again" };
}

/** The cached visit as the technician should see it: with their queued changes. */
export function overlay(visit: Visit, ops: QueuedChange[], userId: string): Visit {
  let out: Visit = visit;
  for (const op of ops) {
    const change = op.payload;
    if (change.visitId !== visit.id || op.state === "failed") continue;
    out = applyChange(out, change, userId, op.key);
  }
  return out;
}

function applyChange(visit: Visit, change: Change, userId: string, key: string): Visit {
  switch (change.kind) {
    case "tick":
      return {
        ...visit,
        checklist: visit.checklist.map((item) => (item.id === change.itemId ? { ...item, done: change.done } : item)),
      };
    case "notes":
      return { ...visit, notes: change.notes };
    case "clock_in": {
      if (visit.time_entries.some((e) => e.user_id === userId && !e.ended_at)) return visit;
      return {
        ...visit,
        status: visit.status === "scheduled" ? "in_progress" : visit.status,
        time_entries: [...visit.time_entries, { id: `queued-${key}`, user_id: userId, started_at: change.at, ended_at: null }],
      };
    }
    case "clock_out":
      return {
        ...visit,
        time_entries: visit.time_entries.map((e) => (e.user_id === userId && !e.ended_at ? { ...e, ended_at: change.at } : e)),
      };
    case "complete":
      return {
        ...visit,
        status: "completed",
        completed_at: change.at,
        time_entries: visit.time_entries.map((e) => (e.ended_at ? e : { ...e, ended_at: change.at })),
      };
    case "file":
      return visit;
  }
}
