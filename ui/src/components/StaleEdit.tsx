import { useCallback, useEffect, useRef, useState } from "react";
import { describeError, isStale, type ApiProblem } from "../api/problem";
import { useFormat } from "../lib/locale";
import { whoChanged, type FieldChange } from "./staleDiff";
import "./staleEdit.css";

/** A stale write being resolved: the server's problem, and the record as saved now. */
export interface StaleState<T> {
  problem: ApiProblem;
  theirs?: T;
  loadError?: unknown;
}

/**
 * The state of a form's stale edit. `catchStale(error)` takes a 409/412 (and answers
 * true), then loads the record as saved now with `load`, which must not write the
 * query cache the form was opened from (a refetch must not replace the form).
 */
export function useStaleEdit<T>(load: () => Promise<T>) {
  const [stale, setStale] = useState<StaleState<T> | null>(null);
  // The latest `load` (it closes over the record being edited), without re-creating
  // `catchStale` on every render.
  const loadRef = useRef(load);
  useEffect(() => {
    loadRef.current = load;
  });
  const catchStale = useCallback((error: unknown): boolean => {
    if (!isStale(error)) return false;
    setStale({ problem: error });
    loadRef.current().then(
      (theirs) => setStale((s) => (s?.problem === error ? { ...s, theirs } : s)),
      (loadError: unknown) => setStale((s) => (s?.problem === error ? { ...s, loadError } : s)),
    );
    return true;
  }, []);
  const clear = useCallback(() => setStale(null), []);
  return { stale, catchStale, clear };
}

/**
 * Someone changed the record while it was being edited here (issue 12): who and
 * when, the fields whose saved value now differs from the one the form started
 * from ("yours" and "theirs"), and two explicit ways on: reload theirs (the edit
 * here is dropped), or save mine over theirs (sent again with the new version).
 * Nothing is saved until one is chosen.
 */
export function StaleEdit<T>({
  stale,
  what,
  changes,
  onReload,
  onOverwrite,
  busy = false,
  overwriteLabel = "Save mine over theirs",
}: {
  stale: StaleState<T>;
  /** The record, as a person names it: "client", "job", "quote"… */
  what: string;
  /** The differing fields; undefined while the saved record loads. */
  changes: FieldChange[] | undefined;
  onReload: (theirs: T) => void;
  onOverwrite: (theirs: T) => void;
  busy?: boolean;
  overwriteLabel?: string;
}) {
  const fmt = useFormat();
  const headingRef = useRef<HTMLHeadingElement>(null);
  // Take the person to the notice: the form they submitted is no longer the point.
  useEffect(() => headingRef.current?.focus(), [stale.problem]);
  const info = stale.problem.stale;
  const at = info?.updatedAt;
  const when = at ? (fmt.date(at) === fmt.date(new Date().toISOString()) ? ` at ${fmt.time(at)}` : ` on ${fmt.dateTime(at)}`) : "";
  const theirs = stale.theirs;

  return (
    <section className="stale-edit" aria-labelledby="stale-edit-title">
      <h2 id="stale-edit-title" ref={headingRef} tabIndex={-1}>
        {whoChanged(info?.updatedBy)} changed this {what}
        {when}
      </h2>
      <p>Your changes are not saved yet. Compare them with what is saved now, then choose.</p>
      {stale.loadError !== undefined ? (
        <p className="stale-edit__error">The saved {what} did not load: {describeError(stale.loadError)}</p>
      ) : changes === undefined || theirs === undefined ? (
        <p className="muted" role="status">
          Loading what changed…
        </p>
      ) : changes.length === 0 ? (
        <p>None of the fields on this form changed: the other change was elsewhere.</p>
      ) : (
        <div className="stale-edit__table">
          <table>
            <caption>Fields changed since you opened this {what}</caption>
            <thead>
              <tr>
                <th scope="col">Field</th>
                <th scope="col">Yours</th>
                <th scope="col">Theirs</th>
              </tr>
            </thead>
            <tbody>
              {changes.map((c) => (
                <tr key={c.key}>
                  <th scope="row">{c.label}</th>
                  <td>{c.yours || <em>(empty)</em>}</td>
                  <td>{c.theirs || <em>(empty)</em>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="stale-edit__actions">
        <button type="button" className="button button--primary" disabled={busy || theirs === undefined} onClick={() => theirs !== undefined && onReload(theirs)}>
          Reload theirs
        </button>
        <button type="button" className="button" disabled={busy || theirs === undefined} onClick={() => theirs !== undefined && onOverwrite(theirs)}>
          {busy ? "Saving…" : overwriteLabel}
        </button>
      </div>
    </section>
  );
}
