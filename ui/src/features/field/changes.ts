// The changes a technician makes to a visit, as queued on the phone (lib/offline),
// how each is sent to the API, and how the queued ones are shown over the cached
// visit before the server has them. Pure apart from the `fetch` it is given.
import type { components } from "../../api/schema";
import type { Checkpoint, Outcome, QueuedOp } from "../../lib/offline/queue";

export type Visit = components["schemas"]["Visit"];
export type MyVisit = components["schemas"]["MyVisit"];
export type MyVisits = components["schemas"]["MyVisits"];

/**
 * What the technician saw of a visit when they made a change: the server's version of
 * it and the parts a change can be about, with their own changes still waiting on the
 * phone shown (so an earlier queued tick is part of what they saw).
 */
export interface VisitBase {
  version: number;
  /** Who made the change (the queue is sent under their session only). */
  by: string;
  status: Visit["status"];
  starts_at: string | null;
  ends_at: string | null;
  instructions: string | null;
  assignee_ids: string[];
  checklist: { id: string; text: string; done: boolean }[];
}

// Clock-ins and clock-outs carry no version, on purpose: each adds (or closes) the
// technician's own time entry, which nobody else edits, and says when they were there,
// which no change of the office makes untrue. Sent with a version they would meet a
// conflict at every move of the visit, and a technician who refused one would lose
// paid time. The server still refuses a clock-in to a visit that is closed (shown as
// not saved, with its reason). Photos and signatures neither: they add a file.
export type Change =
  | { kind: "tick"; visitId: string; itemId: string; done: boolean; base?: VisitBase }
  | { kind: "notes"; visitId: string; notes: string; baseNotes: string | null; baseVersion: number }
  | { kind: "clock_in"; visitId: string; at: string }
  | { kind: "clock_out"; visitId: string; at: string }
  | { kind: "complete"; visitId: string; at: string; base?: VisitBase }
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

/** The parts of a visit a queued tick or completion is checked against. */
export function baseOf(visit: Visit, by: string): VisitBase {
  return {
    version: visit.version,
    by,
    status: visit.status,
    starts_at: visit.starts_at ?? null,
    ends_at: visit.ends_at ?? null,
    instructions: visit.instructions ?? null,
    assignee_ids: [...visit.assignee_ids],
    checklist: visit.checklist.map((i) => ({ id: i.id, text: i.text, done: i.done })),
  };
}

/** Why a queued tick or completion waits for the technician. */
export type ConflictReason =
  /** The technician can no longer see the visit: removed, or given to someone else. */
  | "gone"
  | "cancelled"
  /** Still visible (office staff on the field app), but no longer assigned to them. */
  | "reassigned"
  /** Someone else completed it. */
  | "completed"
  | "instructions"
  | "checklist"
  | "item_removed"
  | "item_changed";

/** The server's side of a conflict of a tick or a completion. */
export interface VisitConflict {
  kind: "visit";
  reason: ConflictReason;
  /** The visit as the server has it now; null when the technician cannot see it. */
  visit: Visit | null;
  /** Who changed it last, when the server knows. */
  by?: string;
}

export type Decision = { type: "applied" } | { type: "rebase" } | { type: "conflict"; reason: ConflictReason };

/** Whether the technician may send their change over the office's ("complete anyway"). */
export function canOverride(reason: ConflictReason): boolean {
  return reason === "instructions" || reason === "checklist" || reason === "item_changed" || reason === "reassigned";
}

/** What happened to the visit itself, whatever the change: it is no longer theirs to work. */
function notTheirs(base: VisitBase, current: Visit): Decision | null {
  if (current.status === "cancelled" && base.status !== "cancelled") return { type: "conflict", reason: "cancelled" };
  if (base.assignee_ids.includes(base.by) && !current.assignee_ids.includes(base.by)) return { type: "conflict", reason: "reassigned" };
  return null;
}

const sameText = (a: string | null | undefined, b: string | null | undefined) => (a ?? "").trim() === (b ?? "").trim();

/**
 * What a queued tick meets on the server. The version moves with every change of the
 * visit (the office moving it, notes, our own earlier ticks): only a change of the
 * item itself, or of the visit being theirs, needs the technician.
 */
export function decideTick(change: { itemId: string; done: boolean }, base: VisitBase, current: Visit): Decision {
  const gone = notTheirs(base, current);
  if (gone) return gone;
  const item = current.checklist.find((i) => i.id === change.itemId);
  if (!item) return { type: "conflict", reason: "item_removed" };
  const seen = base.checklist.find((i) => i.id === change.itemId);
  if (seen && !sameText(seen.text, item.text)) return { type: "conflict", reason: "item_changed" };
  // Already as the technician wants it (our own answer was lost, or someone did the same).
  if (item.done === change.done) return { type: "applied" };
  // Someone else ticked or unticked it since the technician looked.
  if (seen && item.done !== seen.done) return { type: "conflict", reason: "item_changed" };
  return { type: "rebase" };
}

/**
 * What a queued completion meets. It is about the work: what the visit asked for
 * (instructions, checklist) and whether it is still open and theirs. A new time, new
 * notes, a colleague added, our own ticks and clock-ins are not its business.
 */
export function decideComplete(base: VisitBase, current: Visit): Decision {
  if (current.status === "completed") {
    return current.completed_by === base.by ? { type: "applied" } : { type: "conflict", reason: "completed" };
  }
  const gone = notTheirs(base, current);
  if (gone) return gone;
  if (!sameText(base.instructions, current.instructions)) return { type: "conflict", reason: "instructions" };
  const items = (list: { id: string; text: string }[]) =>
    list
      .map((i) => `${i.id}\u0000${i.text.trim()}`)
      .sort()
      .join("\u0001");
  if (items(base.checklist) !== items(current.checklist)) return { type: "conflict", reason: "checklist" };
  return { type: "rebase" };
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
      const path = `${visit}/checklist/${change.itemId}`;
      if (change.base) return sendVersioned(http, op.key, change, change.base, "PATCH", path, { done: change.done });
      // Queued by an older version of the app, before changes carried what was seen.
      const reply = await call(http, "PATCH", path, { json: { done: change.done }, key: op.key });
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
      if (change.base) return sendVersioned(http, op.key, change, change.base, "POST", `${visit}/complete`, {});
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
      // The visit is gone from the job (the office cancelled the job before it began):
      // the picture was still taken there, so it is kept with the job.
      if (reply.status === 422 && fieldsOf(reply).includes("visit_id")) {
        const again = await call(http, "POST", `${API}/jobs/${change.jobId}/attachments`, {
          json: { upload_id: uploadId, kind: change.purpose },
          key: `${op.key}:attach:${uploadId}:job`,
        });
        return ok(again) ? { type: "done", result: undefined } : trouble(again);
      }
      // The upload expired (24 hours) or was lost: send the file again.
      if (reply.status === 410 || (reply.status === 404 && code(reply) === "upload_not_found")) {
        await checkpoint({ ...change, uploadId: undefined });
        return { type: "retry", error: "the upload expired; sending the photo again" };
      }
      return trouble(reply);
    }
  }
}

function fieldsOf(reply: Reply): string[] {
  const body = reply.body as { errors?: { field?: string }[] } | undefined;
  return (body?.errors ?? []).map((e) => e.field ?? "");
}

const gone = (reply: Reply) => reply.status === 404 && code(reply) === "visit_not_found";

/** Who the server says changed the record last (a stale write's `updated_by`). */
function changedBy(reply: Reply): string | undefined {
  const body = reply.body as { updated_by?: { kind?: string; name?: string } } | undefined;
  const who = body?.updated_by;
  if (!who) return undefined;
  if (who.kind === "user") return who.name;
  if (who.kind === "client") return "the client";
  return undefined;
}

const CONFLICT_MESSAGES: Record<ConflictReason, string> = {
  gone: "This visit is no longer on your schedule.",
  cancelled: "The office cancelled this visit while you were offline.",
  reassigned: "The office gave this visit to someone else while you were offline.",
  completed: "Someone else completed this visit while you were offline.",
  instructions: "The office changed this visit's instructions while you were offline.",
  checklist: "The office changed this visit's checklist while you were offline.",
  item_removed: "The office removed this checklist item while you were offline.",
  item_changed: "This checklist item was changed while you were offline.",
};

/**
 * A tick or a completion, sent over the version the technician saw. When the visit
 * changed since (409/412, or an answer that says the change no longer fits), it is
 * read again and the change decided as `decideTick`/`decideComplete` say: sent again
 * over the new version, taken as done, or kept for the technician with both sides.
 */
async function sendVersioned(
  http: Http,
  key: string,
  change: Extract<Change, { kind: "tick" | "complete" }>,
  base: VisitBase,
  method: "PATCH" | "POST",
  path: string,
  body: Record<string, unknown>,
): Promise<Outcome> {
  const conflict = (reason: ConflictReason, visit: Visit | null, by?: string): Outcome => ({
    type: "conflict",
    theirs: { kind: "visit", reason, visit, by } satisfies VisitConflict,
    error: CONFLICT_MESSAGES[reason],
  });
  let version = base.version;
  let by: string | undefined;
  for (let round = 0; round < 3; round++) {
    // A key per version: each is a different request (the server keeps each answer).
    const reply = await call(http, method, path, { json: { ...body, version }, key: `${key}:${version}` });
    if (ok(reply)) return { type: "done", result: reply.body };
    if (gone(reply)) return conflict("gone", null);
    const stale = reply.status === 409 || reply.status === 412;
    // Refusals that the visit's state may explain: a closed visit (409), an item that
    // is no longer on it (422). Anything else is what it says.
    if (code(reply) === "idempotency_in_progress" || !(stale || reply.status === 422)) return trouble(reply);
    by = changedBy(reply) ?? by;
    const current = await call(http, "GET", `${API}/visits/${change.visitId}`);
    if (gone(current)) return conflict("gone", null, by);
    if (!ok(current)) return trouble(current);
    const server = current.body as Visit;
    const decision = change.kind === "tick" ? decideTick(change, base, server) : decideComplete(base, server);
    switch (decision.type) {
      case "applied":
        return { type: "done", result: server };
      case "conflict":
        return conflict(decision.reason, server, by);
      case "rebase":
        // Only a version that moved is sent again; another refusal stands.
        if (!(code(reply) === "version_conflict" || code(reply) === "precondition_failed") || server.version === version) return trouble(reply);
        version = server.version;
    }
  }
  return { type: "retry", error: "the visit keeps changing; trying again" };
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
    // A tick or completion held by a conflict is not shown as done: the panel shows
    // both sides. (Held notes stay in the box, where the technician typed them.)
    if (op.state === "conflict" && change.kind !== "notes") continue;
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
