import { useState } from "react";
import type { NotesConflict, QueuedChange } from "./changes";
import { field } from "./store";

/**
 * The office changed the visit's notes while the technician's own change waited on
 * the phone: both versions are shown and the technician decides. Nothing is sent
 * until they do.
 */
export function ConflictPanel({ op }: { op: QueuedChange }) {
  const change = op.payload;
  const [editing, setEditing] = useState(false);
  const theirs = op.theirs as NotesConflict | undefined;
  const [text, setText] = useState(() => (change.kind === "notes" ? [theirs?.notes, change.notes].filter(Boolean).join("\n\n") : ""));
  if (change.kind !== "notes" || !theirs || op.seq === undefined) return null;
  const seq = op.seq;
  const keep = (notes: string) =>
    void field.resolve(seq, { ...change, notes, baseNotes: theirs.notes, baseVersion: theirs.version });

  return (
    <section className="fld-conflict" aria-labelledby="conflict-title" role="alert">
      <h2 id="conflict-title">The office changed these notes</h2>
      <p>While you were offline, someone in the office edited this visit's notes. Choose what to keep.</p>
      <div className="fld-conflict__sides">
        <figure>
          <figcaption>The office's version</figcaption>
          <blockquote>{theirs.notes || <em>(empty)</em>}</blockquote>
        </figure>
        <figure>
          <figcaption>Your version</figcaption>
          <blockquote>{change.notes || <em>(empty)</em>}</blockquote>
        </figure>
      </div>
      {editing ? (
        <>
          <div className="field">
            <label htmlFor="conflict-text">Notes to keep</label>
            <textarea id="conflict-text" rows={6} value={text} onChange={(e) => setText(e.target.value)} />
          </div>
          <div className="fld-row">
            <button type="button" className="button" onClick={() => setEditing(false)}>
              Back
            </button>
            <button type="button" className="button button--primary" onClick={() => keep(text)}>
              Save these notes
            </button>
          </div>
        </>
      ) : (
        <div className="fld-stack">
          <button type="button" className="button button--primary" onClick={() => keep(change.notes)}>
            Keep mine
          </button>
          <button type="button" className="button" onClick={() => void field.resolve(seq, null)}>
            Keep the office's
          </button>
          <button type="button" className="button" onClick={() => setEditing(true)}>
            Combine both
          </button>
        </div>
      )}
    </section>
  );
}
