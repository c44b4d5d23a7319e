import { useEffect, useMemo, useState, type ChangeEvent } from "react";
import { Icon } from "../../components/Icon";
import { formatMoney } from "../../lib/format";
import { overlay, type MyVisit, type QueuedChange } from "./changes";
import { ConflictPanel } from "./ConflictPanel";
import { arrivalWindow, dayOf, dayTitle, statusLabel } from "./format";
import { Link } from "./nav";
import { resizeImage } from "./photos";
import { SignaturePad } from "../../components/SignaturePad";
import { field, useField } from "./store";
import { addDays, today } from "../../lib/zoned";

function mapsUrl(address: string): string {
  return `https://www.google.com/maps/search/?api=1&query=${encodeURIComponent(address)}`;
}

function primaryPhone(item: MyVisit) {
  return [...item.client.phones].sort((a, b) => Number(b.primary) - Number(a.primary))[0];
}

export function VisitPage({ id }: { id: string }) {
  const state = useField();
  const session = state.session;
  const item = state.visits.find((v) => v.visit.id === id);
  const ops = useMemo(() => state.ops.filter((o) => o.record === id), [state.ops, id]);
  if (!session) return null;
  if (!item) {
    return (
      <>
        <Link href="/field/" className="fld-back">
          <Icon name="back" /> All visits
        </Link>
        <h1 className="fld-title">Visit not found</h1>
        <p className="fld-empty">
          {state.fetchedAt ? "This visit is not on your schedule for the coming week." : "Your visits have not been loaded on this phone yet."}
        </p>
      </>
    );
  }
  return <Visit item={item} ops={ops} userId={session.user.id} zone={session.account.time_zone} currency={session.account.currency} />;
}

function Visit({ item, ops, userId, zone, currency }: { item: MyVisit; ops: QueuedChange[]; userId: string; zone: string; currency: string }) {
  const state = useField();
  const visit = overlay(item.visit, ops, userId);
  const open = visit.status === "scheduled" || visit.status === "in_progress";
  const clockedIn = visit.time_entries.some((e) => e.user_id === userId && !e.ended_at);
  const conflict = ops.find((o) => o.state === "conflict");
  const failed = ops.filter((o) => o.state === "failed");
  const waiting = ops.filter((o) => o.state === "pending");
  const phone = primaryPhone(item);
  const first = today(zone);
  const [confirming, setConfirming] = useState(false);
  const [message, setMessage] = useState<string>();

  const now = () => new Date().toISOString();

  return (
    <article aria-labelledby="visit-title">
      <Link href="/field/" className="fld-back">
        <Icon name="back" /> All visits
      </Link>
      <header className="fld-visit__head">
        <p className="fld-muted">
          {visit.starts_at ? `${dayTitle(dayOf(visit.starts_at, zone), first, addDays(first, 1))} · ${arrivalWindow(visit, zone)}` : "Not scheduled"} · Job {visit.job_number}
        </p>
        <h1 id="visit-title" className="fld-title">
          {visit.title}
        </h1>
        <span className={`badge badge--${visit.status}`}>{statusLabel(visit.status)}</span>
        {waiting.length > 0 && (
          <span className="fld-pending">
            {waiting.length} {waiting.length === 1 ? "change" : "changes"} waiting to send
          </span>
        )}
      </header>

      {conflict && <ConflictPanel op={conflict} zone={zone} />}
      {failed.map((op) => (
        <div key={op.seq} className="fld-failed" role="alert">
          <p>
            <strong>Not saved:</strong> {describe(op)}. {op.error}
          </p>
          <button type="button" className="button" onClick={() => void field.resolve(op.seq!, null)}>
            Dismiss
          </button>
        </div>
      ))}
      {message && (
        <p className="fld-note" role="status">
          {message}
        </p>
      )}

      <section className="fld-section" aria-labelledby="client-title">
        <h2 id="client-title">{item.client.name}</h2>
        {visit.address && <p className="fld-address">{visit.address}</p>}
        <div className="fld-contact">
          {visit.address && (
            <a className="button" href={mapsUrl(visit.address)} target="_blank" rel="noreferrer">
              <Icon name="pin" /> Directions
            </a>
          )}
          {phone && (
            <a className="button" href={`tel:${phone.number}`}>
              <Icon name="phone" /> Call
            </a>
          )}
          {phone && (
            <a className="button" href={`sms:${phone.number}`}>
              <Icon name="mail" /> Text
            </a>
          )}
        </div>
      </section>

      {open && (
        <section className="fld-section fld-actions" aria-label="Visit actions">
          {visit.status === "scheduled" && !clockedIn && (
            <OnMyWay visitId={visit.id} online={state.online} onDone={setMessage} />
          )}
          {clockedIn ? (
            <button type="button" className="button button--big" onClick={() => void field.change({ kind: "clock_out", visitId: visit.id, at: now() })}>
              <Icon name="clock" /> Clock out
            </button>
          ) : (
            <button type="button" className="button button--primary button--big" onClick={() => void field.change({ kind: "clock_in", visitId: visit.id, at: now() })}>
              <Icon name="clock" /> Clock in
            </button>
          )}
          {confirming ? (
            <div className="fld-confirm" role="group" aria-label="Complete this visit?">
              <p>Mark this visit complete? You will be clocked out.</p>
              <div className="fld-row">
                <button type="button" className="button" onClick={() => setConfirming(false)}>
                  Not yet
                </button>
                <button
                  type="button"
                  className="button button--primary"
                  onClick={() => {
                    setConfirming(false);
                    void field.change({ kind: "complete", visitId: visit.id, at: now() });
                  }}
                >
                  Complete visit
                </button>
              </div>
            </div>
          ) : (
            <button type="button" className="button button--big" onClick={() => setConfirming(true)}>
              Complete visit…
            </button>
          )}
        </section>
      )}

      {visit.instructions && (
        <section className="fld-section" aria-labelledby="instructions-title">
          <h2 id="instructions-title">Instructions</h2>
          <p className="fld-pre">{visit.instructions}</p>
        </section>
      )}

      {visit.work && visit.work.length > 0 && (
        <section className="fld-section" aria-labelledby="work-title">
          <h2 id="work-title">Work</h2>
          <ul className="fld-work">
            {visit.work.map((line, i) => (
              <li key={i}>
                <span className="fld-work__name">
                  {line.name} <span className="fld-muted">× {line.quantity}</span>
                </span>
                {state.showPrices && line.line_total != null && <span className="fld-work__price">{formatMoney(line.line_total, currency)}</span>}
                {line.description && <span className="fld-muted fld-work__desc">{line.description}</span>}
              </li>
            ))}
          </ul>
        </section>
      )}

      {visit.checklist.length > 0 && (
        <section className="fld-section" aria-labelledby="checklist-title">
          <h2 id="checklist-title">Checklist</h2>
          <ul className="fld-checklist">
            {visit.checklist.map((entry) => (
              <ChecklistItem key={entry.id} text={entry.text} done={entry.done} disabled={!open} onTick={(done) => void field.change({ kind: "tick", visitId: visit.id, itemId: entry.id, done })} />
            ))}
          </ul>
        </section>
      )}

      <Notes item={item} shown={visit.notes ?? ""} />

      <section className="fld-section" aria-labelledby="photos-title">
        <h2 id="photos-title">Photos</h2>
        <Photos visitId={visit.id} jobId={visit.job_id} ops={ops} />
      </section>

      <section className="fld-section" aria-labelledby="signature-title">
        <h2 id="signature-title">Client's signature</h2>
        {ops.some((o) => o.payload.kind === "file" && o.payload.purpose === "signature") && (
          <p className="fld-pending">A signature is waiting to send.</p>
        )}
        <SignaturePad
          onSave={(png, name) =>
            field.change({
              kind: "file",
              purpose: "signature",
              visitId: visit.id,
              jobId: visit.job_id,
              file: png,
              filename: `signature-${name.replace(/[^A-Za-z0-9]+/g, "-").slice(0, 40) || "client"}.png`,
            })
          }
        />
      </section>
    </article>
  );
}

function describe(op: QueuedChange): string {
  switch (op.payload.kind) {
    case "tick":
      return "a checklist tick";
    case "notes":
      return "your notes";
    case "clock_in":
      return "your clock-in";
    case "clock_out":
      return "your clock-out";
    case "complete":
      return "completing the visit";
    case "file":
      return op.payload.purpose === "signature" ? "the signature" : "a photo";
  }
}

function Notes({ item, shown }: { item: MyVisit; shown: string }) {
  const [draft, setDraft] = useState(shown);
  const [dirty, setDirty] = useState(false);
  const [saved, setSaved] = useState(false);
  // The notes change under us (a sync, a resolved conflict): follow them unless typing.
  useEffect(() => {
    if (!dirty) setDraft(shown);
  }, [shown, dirty]);

  async function save() {
    await field.change({
      kind: "notes",
      visitId: item.visit.id,
      notes: draft,
      baseNotes: item.visit.notes ?? null,
      baseVersion: item.visit.version,
    });
    setDirty(false);
    setSaved(true);
  }

  return (
    <section className="fld-section" aria-labelledby="notes-title">
      <h2 id="notes-title">Notes</h2>
      <div className="field">
        <label htmlFor="visit-notes">Notes for the office</label>
        <textarea
          id="visit-notes"
          rows={4}
          value={draft}
          onChange={(e) => {
            setDraft(e.target.value);
            setDirty(true);
            setSaved(false);
          }}
        />
      </div>
      <button type="button" className="button button--primary" disabled={!dirty} onClick={() => void save()}>
        Save notes
      </button>
      {saved && (
        <span className="fld-note" role="status">
          {" "}
          Notes saved.
        </span>
      )}
    </section>
  );
}

function Photos({ visitId, jobId, ops }: { visitId: string; jobId: string; ops: QueuedChange[] }) {
  const [busy, setBusy] = useState(false);
  const queued = ops.filter((o) => o.payload.kind === "file" && o.payload.purpose === "photo");
  const urls = useMemo(
    () => queued.map((o) => (o.payload.kind === "file" && o.payload.file instanceof Blob ? URL.createObjectURL(o.payload.file) : "")),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [queued.map((o) => o.seq).join()],
  );
  useEffect(() => () => urls.forEach((u) => u && URL.revokeObjectURL(u)), [urls]);

  async function take(event: ChangeEvent<HTMLInputElement>) {
    const files = [...(event.target.files ?? [])];
    event.target.value = "";
    setBusy(true);
    try {
      for (const file of files) {
        const small = await resizeImage(file);
        const name = (file.name || "photo").replace(/\.[^.]+$/, "") + (small.type === "image/jpeg" ? ".jpg" : "");
        await field.change({ kind: "file", purpose: "photo", visitId, jobId, file: small, filename: name });
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <label className="button button--big fld-camera">
        <Icon name="plus" /> {busy ? "Preparing…" : "Take a photo"}
        <input type="file" accept="image/*" capture="environment" multiple className="visually-hidden" onChange={(e) => void take(e)} />
      </label>
      {queued.length > 0 && (
        <ul className="fld-photos" aria-label="Photos waiting to send">
          {queued.map((o, i) => (
            <li key={o.seq}>
              {urls[i] && <img src={urls[i]} alt={`Photo ${i + 1}, waiting to send`} />}
            </li>
          ))}
        </ul>
      )}
      <p className="fld-muted">Photos are made smaller on the phone and sent to the job as soon as there is a connection.</p>
    </>
  );
}

function OnMyWay({ visitId, online, onDone }: { visitId: string; online: boolean; onDone: (message: string) => void }) {
  const [busy, setBusy] = useState(false);
  async function send() {
    setBusy(true);
    try {
      const reply = await field.onMyWay(visitId);
      onDone(reply);
    } finally {
      setBusy(false);
    }
  }
  return (
    <button type="button" className="button button--big" disabled={!online || busy} onClick={() => void send()}>
      {online ? (busy ? "Sending…" : "On my way") : "On my way (needs a connection)"}
    </button>
  );
}

/** A checklist tick shows at once; the stored visit (updated when the change is queued)
 * follows a moment later and wins when it differs. */
function ChecklistItem({ text, done, disabled, onTick }: { text: string; done: boolean; disabled: boolean; onTick: (done: boolean) => void }) {
  const [shown, setShown] = useState(done);
  useEffect(() => setShown(done), [done]);
  return (
    <li>
      <label>
        <input
          type="checkbox"
          checked={shown}
          disabled={disabled}
          onChange={(e) => {
            setShown(e.target.checked);
            onTick(e.target.checked);
          }}
        />
        <span>{text}</span>
      </label>
    </li>
  );
}
