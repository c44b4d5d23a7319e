import { useState } from "react";
import { baseOf, canOverride, type Change, type ConflictReason, type NotesConflict, type QueuedChange, type Visit, type VisitBase, type VisitConflict } from "./changes";
import { arrivalWindow, statusLabel, timeOf } from "./format";
import { field } from "./store";

/**
 * The office changed the visit while the technician's own change waited on the
 * phone: both versions are shown and the technician decides. Nothing is sent until
 * they do.
 */
export function ConflictPanel({ op, zone }: { op: QueuedChange; zone?: string }) {
  const theirs = op.theirs as NotesConflict | VisitConflict | undefined;
  if (!theirs || op.seq === undefined) return null;
  const change = op.payload;
  if ("kind" in theirs && theirs.kind === "visit") {
    if (change.kind !== "tick" && change.kind !== "complete") return null;
    return <VisitConflictPanel seq={op.seq} change={change} theirs={theirs} zone={zone} />;
  }
  if (change.kind !== "notes") return null;
  return <NotesConflictPanel seq={op.seq} change={change} theirs={theirs as NotesConflict} />;
}

function NotesConflictPanel({ seq, change, theirs }: { seq: number; change: Extract<Change, { kind: "notes" }>; theirs: NotesConflict }) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(() => [theirs.notes, change.notes].filter(Boolean).join("\n\n"));
  const keep = (notes: string) => void field.resolve(seq, { ...change, notes, baseNotes: theirs.notes, baseVersion: theirs.version });

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

const TITLES: Record<ConflictReason, string> = {
  gone: "This visit is no longer on your schedule",
  cancelled: "The office cancelled this visit",
  reassigned: "This visit was given to someone else",
  completed: "This visit is already completed",
  instructions: "The office changed the instructions",
  checklist: "The office changed the checklist",
  item_removed: "The office removed this checklist item",
  item_changed: "This checklist item changed",
};

type VisitChange = Extract<Change, { kind: "tick" | "complete" }>;

/** A tick or a completion that met an office change it is about. */
function VisitConflictPanel({ seq, change, theirs, zone }: { seq: number; change: VisitChange; theirs: VisitConflict; zone?: string }) {
  const base = change.base;
  const visit = theirs.visit;
  const who = theirs.by ? `${theirs.by} changed this visit` : "This visit was changed";
  const override = canOverride(theirs.reason) && visit !== null && base !== undefined;
  const item = change.kind === "tick" ? (base?.checklist.find((i) => i.id === change.itemId)?.text ?? "a checklist item") : "";
  const mine = change.kind === "complete" ? `You completed the visit at ${timeOf(change.at, zoneOr(zone))}.` : `You ${change.done ? "ticked" : "unticked"} “${item}”.`;
  const again = change.kind === "complete" ? "Complete anyway" : change.done ? "Tick anyway" : "Untick anyway";
  const discard = change.kind === "complete" ? "Discard my completion" : "Discard my tick";

  return (
    <section className="fld-conflict" aria-labelledby="conflict-title" role="alert">
      <h2 id="conflict-title">{TITLES[theirs.reason]}</h2>
      <p>
        {who} while your change waited on this phone. Nothing of yours has been sent{override ? ": choose what to do." : "."}
      </p>
      <div className="fld-conflict__sides">
        <figure>
          <figcaption>The office's version</figcaption>
          <blockquote>{visit ? <VisitSide visit={visit} base={base} reason={theirs.reason} zone={zone} /> : "No longer on your schedule: removed, or given to someone else."}</blockquote>
        </figure>
        <figure>
          <figcaption>Your version</figcaption>
          <blockquote>
            <span className="fld-conflict__line">{mine}</span>
            {base && <SeenSide base={base} reason={theirs.reason} />}
          </blockquote>
        </figure>
      </div>
      <div className="fld-stack">
        {override && visit && base && (
          <button type="button" className="button button--primary" onClick={() => void field.resolve(seq, { ...change, base: baseOf(visit, base.by) })}>
            {again}
          </button>
        )}
        <button type="button" className={override ? "button" : "button button--primary"} onClick={() => void field.resolve(seq, null)}>
          {discard}
        </button>
      </div>
    </section>
  );
}

function zoneOr(zone?: string) {
  return zone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
}

const showsChecklist = (reason: ConflictReason) => reason === "checklist" || reason === "item_removed" || reason === "item_changed";

/** The visit as the office has it now: what changed, in words. */
function VisitSide({ visit, base, reason, zone }: { visit: Visit; base?: VisitBase; reason: ConflictReason; zone?: string }) {
  const tz = zoneOr(zone);
  const moved = base && (base.starts_at !== (visit.starts_at ?? null) || base.ends_at !== (visit.ends_at ?? null));
  return (
    <>
      <span className="fld-conflict__line">
        {statusLabel(visit.status)}
        {visit.status === "completed" && visit.completed_at ? ` at ${timeOf(visit.completed_at, tz)}` : ""}
      </span>
      {moved && <span className="fld-conflict__line">Now {arrivalWindow(visit, tz)}</span>}
      {reason === "instructions" && <span className="fld-conflict__line fld-pre">Instructions: {visit.instructions || "(none)"}</span>}
      {showsChecklist(reason) && <Checklist items={visit.checklist} />}
    </>
  );
}

/** What the technician had on the screen when they made the change. */
function SeenSide({ base, reason }: { base: VisitBase; reason: ConflictReason }) {
  return (
    <>
      {reason === "instructions" && <span className="fld-conflict__line fld-pre">Instructions you had: {base.instructions || "(none)"}</span>}
      {showsChecklist(reason) && <Checklist items={base.checklist} />}
    </>
  );
}

function Checklist({ items }: { items: { id: string; text: string; done: boolean }[] }) {
  if (items.length === 0) return <span className="fld-conflict__line">No checklist.</span>;
  return (
    <ul className="fld-conflict__list">
      {items.map((i) => (
        <li key={i.id}>
          {i.text}
          {i.done ? " (done)" : ""}
        </li>
      ))}
    </ul>
  );
}
