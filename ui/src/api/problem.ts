// RFC 9457 problem details as the server sends them (src/http/error.rs): a stable
// `code`, a human `detail`, and the fields at fault.
import type { components } from "./schema";

/** Who made a record's last change (a stale write's `updated_by`). */
export type ChangedBy = components["schemas"]["ChangedBy"];

/** What a stale write (409 `version_conflict`, 412 `precondition_failed`) met. */
export interface Stale {
  /** The record's version now: a deliberate save over the other change sends it. */
  currentVersion: number;
  /** When the record last changed, if the server said. */
  updatedAt?: string;
  /** Who changed it last, if the server knows. */
  updatedBy?: ChangedBy;
}

export interface FieldError {
  field: string;
  message: string;
}

export interface ProblemBody {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  errors?: FieldError[];
  request_id?: string;
  current_version?: number;
  updated_at?: string;
  updated_by?: ChangedBy;
}

export class ApiProblem extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly errors: FieldError[];
  /** Seconds to wait before asking again (`Retry-After` of a 429 or 503), if given. */
  readonly retryAfter: number | undefined;
  /** A stale write: the record as it is now (who changed it, when, its version). */
  readonly stale: Stale | undefined;

  constructor(status: number, body: ProblemBody | undefined, retryAfter?: number) {
    const detail = body?.detail ?? body?.title ?? `The server answered ${status}`;
    super(detail);
    this.name = "ApiProblem";
    this.status = status;
    this.code = body?.code ?? (status === 0 ? "network_error" : "unknown");
    this.detail = detail;
    this.errors = body?.errors ?? [];
    this.retryAfter = retryAfter;
    const conflict = this.code === "version_conflict" || this.code === "precondition_failed" || status === 412;
    this.stale =
      conflict && typeof body?.current_version === "number"
        ? { currentVersion: body.current_version, updatedAt: body.updated_at ?? undefined, updatedBy: body.updated_by ?? undefined }
        : undefined;
  }

  /** The message for one field (`emails[0].address`), if the server named it. */
  field(name: string): string | undefined {
    return this.errors.find((e) => e.field === name)?.message;
  }

  /**
   * The first message for each input, as a sentence: `place` says which input shows a
   * field's error (`lines[2].quantity` → `lines`).
   */
  messagesBy(place: (field: string) => string = (field) => field): Record<string, string> {
    const map: Record<string, string> = {};
    for (const { field, message } of this.errors) {
      const key = place(field);
      if (!(key in map)) map[key] = message.charAt(0).toUpperCase() + message.slice(1);
    }
    return map;
  }

  /** Field errors keyed by field path. */
  fieldMap(): Record<string, string> {
    const map: Record<string, string> = {};
    for (const e of this.errors) if (!(e.field in map)) map[e.field] = e.message;
    return map;
  }
}

/** Whether an error is a stale write: someone changed the record since it was read. */
export function isStale(error: unknown): error is ApiProblem {
  return error instanceof ApiProblem && (error.code === "version_conflict" || error.code === "precondition_failed" || error.status === 412);
}

export function isProblem(error: unknown, code?: string): error is ApiProblem {
  return error instanceof ApiProblem && (code === undefined || error.code === code);
}

/** `Retry-After` in seconds (the server sends a number; an HTTP date is not used). */
export function retryAfterSeconds(header: string | null): number | undefined {
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header.trim());
}

/** What to tell a person about an error, in one sentence. */
export function describeError(error: unknown): string {
  if (error instanceof ApiProblem) {
    if (error.code === "network_error") return "The server could not be reached. Check your connection and try again.";
    if (error.status === 429) {
      const wait = error.retryAfter ?? 0;
      return wait > 0
        ? `Too many requests in a short time. Try again in ${wait} ${wait === 1 ? "second" : "seconds"}.`
        : "Too many requests in a short time. Try again in a moment.";
    }
    return error.detail;
  }
  if (error instanceof Error) return error.message;
  return "Something went wrong.";
}
