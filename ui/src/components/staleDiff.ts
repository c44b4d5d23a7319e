// What a stale edit shows (components/StaleEdit): the fields someone else changed
// since the form was opened, each with the value typed here and the one saved now.
// Pure, so the rules are tested without a browser.
import type { ChangedBy } from "../api/problem";

/** A form field, by its key in the form's state, and the label the form shows. */
export interface FieldSpec {
  key: string;
  label: string;
}

export interface FieldChange {
  key: string;
  label: string;
  /** The value in the form now (what "Save mine over theirs" sends). */
  yours: string;
  /** The value saved by the other change (what "Reload theirs" shows). */
  theirs: string;
}

/** A form value as text: trimmed, lists joined, nothing as "". */
export function shown(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.map(shown).filter(Boolean).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value).trim();
}

/**
 * The fields whose saved value (`theirs`) differs from the value the form started
 * from (`base`), in the order of `fields`, with the form's value now (`mine`).
 */
export function changedFields<T extends object>(fields: FieldSpec[], base: T, theirs: T, mine: T): FieldChange[] {
  const read = (record: T, key: string) => shown((record as Record<string, unknown>)[key]);
  return fields
    .filter(({ key }) => read(base, key) !== read(theirs, key))
    .map(({ key, label }) => ({ key, label, yours: read(mine, key), theirs: read(theirs, key) }));
}

/** Who made the change, as the start of a sentence. */
export function whoChanged(by: ChangedBy | undefined): string {
  switch (by?.kind) {
    case "user":
      return by.name;
    case "client":
      return "The client";
    case "system":
      return "An automatic update";
    default:
      return "Someone else";
  }
}
