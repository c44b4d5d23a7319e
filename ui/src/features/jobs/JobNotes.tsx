import { useState, type FormEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { ApiProblem, describeError } from "../../api/problem";
import { useSession } from "../../api/session";
import { TextAreaField } from "../../components/Field";
import { FormError } from "../../components/States";
import { useFormat } from "../../lib/locale";
import { addJobNote, deleteJobNote, editJobNote, useJobNotes, type JobNote } from "./api";

const MAX = 5000;

/** The message for the note's text: the server's field error, or what went wrong. */
function bodyError(e: unknown): { field?: string; form?: string } {
  if (e instanceof ApiProblem) {
    const field = e.errors.find((x) => x.field === "body");
    if (field) return { field: field.message.charAt(0).toUpperCase() + field.message.slice(1) + "." };
  }
  return { form: describeError(e) };
}

function localCheck(text: string): string | undefined {
  if (!text.trim()) return "Write the note first.";
  if (text.trim().length > MAX) return `At most ${MAX.toLocaleString()} characters (${text.trim().length.toLocaleString()} now).`;
  return undefined;
}

/** The office's notes on a job: add one, read them with author and time, edit or delete your own. */
export function JobNotes({ jobId }: { jobId: string }) {
  const notes = useJobNotes(jobId);
  const me = useSession().data?.user.id;
  const queryClient = useQueryClient();
  const key = ["jobs", jobId, "notes"];
  const [draft, setDraft] = useState("");
  const [error, setError] = useState<{ field?: string; form?: string }>({});
  const [busy, setBusy] = useState(false);

  async function add(event: FormEvent) {
    event.preventDefault();
    const problem = localCheck(draft);
    if (problem) {
      setError({ field: problem });
      return;
    }
    setBusy(true);
    setError({});
    try {
      const note = await addJobNote(jobId, draft);
      queryClient.setQueryData<JobNote[]>(key, (old) => [...(old ?? []), note]);
      setDraft("");
    } catch (e) {
      setError(bodyError(e));
    } finally {
      setBusy(false);
    }
  }

  const list = notes.data ?? [];
  return (
    <section className="card job-notes" aria-labelledby="job-notes-h">
      <h2 id="job-notes-h">Notes{list.length > 0 ? ` (${list.length})` : ""}</h2>
      {notes.isPending ? (
        <p className="muted">Loading notes…</p>
      ) : notes.isError ? (
        <FormError message={`The notes could not be loaded: ${describeError(notes.error)}`} />
      ) : list.length === 0 ? (
        <p className="muted">No notes yet. Notes are for the office: gate codes, what the client said on the phone.</p>
      ) : (
        <ul className="note-list">
          {list.map((n) => (
            <NoteItem key={n.id} jobId={jobId} note={n} mine={n.author_id === me} />
          ))}
        </ul>
      )}
      <form className="note-form" onSubmit={(e) => void add(e)} noValidate>
        <FormError message={error.form} />
        <TextAreaField label="Add a note" name="note" rows={3} value={draft} error={error.field} onChange={(e) => setDraft(e.target.value)} maxLength={MAX + 100} />
        <div className="form__actions">
          <button type="submit" className="button button--primary" disabled={busy}>
            {busy ? "Adding…" : "Add note"}
          </button>
        </div>
      </form>
    </section>
  );
}

function NoteItem({ jobId, note, mine }: { jobId: string; note: JobNote; mine: boolean }) {
  const fmt = useFormat();
  const queryClient = useQueryClient();
  const key = ["jobs", jobId, "notes"];
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(note.body);
  const [error, setError] = useState<{ field?: string; form?: string }>({});
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const edited = note.updated_at !== note.created_at;

  async function save(event: FormEvent) {
    event.preventDefault();
    const problem = localCheck(text);
    if (problem) {
      setError({ field: problem });
      return;
    }
    setBusy(true);
    setError({});
    try {
      const saved = await editJobNote(jobId, note.id, text);
      queryClient.setQueryData<JobNote[]>(key, (old) => old?.map((n) => (n.id === saved.id ? saved : n)));
      setEditing(false);
    } catch (e) {
      setError(bodyError(e));
    } finally {
      setBusy(false);
    }
  }

  async function remove() {
    // Gone at once; back in its place if the server refuses.
    const before = queryClient.getQueryData<JobNote[]>(key);
    queryClient.setQueryData<JobNote[]>(key, (old) => old?.filter((n) => n.id !== note.id));
    try {
      await deleteJobNote(jobId, note.id);
    } catch (e) {
      queryClient.setQueryData(key, before);
      setError({ form: `The note was not deleted: ${describeError(e)}` });
    }
  }

  return (
    <li className="note">
      <p className="note__meta">
        <strong>{note.author_name ?? "Former team member"}</strong>{" "}
        <span className="muted">
          <time dateTime={note.created_at}>{fmt.dateTime(note.created_at)}</time>
          {edited && <> · edited {fmt.dateTime(note.updated_at)}</>}
        </span>
      </p>
      <FormError message={error.form} />
      {editing ? (
        <form onSubmit={(e) => void save(e)} noValidate>
          <TextAreaField label="Note" rows={3} value={text} error={error.field} onChange={(e) => setText(e.target.value)} autoFocus />
          <div className="form__actions">
            <button type="submit" className="button button--primary" disabled={busy}>
              {busy ? "Saving…" : "Save note"}
            </button>
            <button
              type="button"
              className="button"
              onClick={() => {
                setEditing(false);
                setText(note.body);
                setError({});
              }}
            >
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <>
          <p className="pre-line note__body">{note.body}</p>
          {mine &&
            (confirming ? (
              <div className="note__actions" role="group" aria-label="Delete this note?">
                <span>Delete this note?</span>
                <button type="button" className="button" onClick={() => void remove()}>
                  Delete
                </button>
                <button type="button" className="button" onClick={() => setConfirming(false)} autoFocus>
                  Keep it
                </button>
              </div>
            ) : (
              <div className="note__actions">
                <button type="button" className="button" onClick={() => setEditing(true)} aria-label={`Edit your note of ${fmt.dateTime(note.created_at)}`}>
                  Edit
                </button>
                <button type="button" className="button" onClick={() => setConfirming(true)} aria-label={`Delete your note of ${fmt.dateTime(note.created_at)}`}>
                  Delete
                </button>
              </div>
            ))}
        </>
      )}
    </li>
  );
}
