// The client page's Files tab: the photos and documents of the client's jobs (files
// are kept with a job: `/jobs/{id}/attachments`), uploaded by drag and drop or the
// file picker to the job chosen, and removed.
import { useRef, useState, type DragEvent } from "react";
import { Link } from "react-router";
import { useQueries, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { describeError } from "../../api/problem";
import type { components } from "../../api/schema";
import { ErrorState, Spinner } from "../../components/States";
import { useFormat } from "../../lib/locale";
import { useClientJobs } from "./api";

type Attachment = components["schemas"]["Attachment"];

const ACCEPT = "image/jpeg,image/png,image/gif,image/webp,application/pdf";

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} kB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export function ClientFiles({ id }: { id: string }) {
  const jobs = useClientJobs(id);
  const fmt = useFormat();
  const queryClient = useQueryClient();
  const jobList = jobs.data?.items ?? [];
  const files = useQueries({
    queries: jobList.map((job) => ({
      queryKey: ["jobs", job.id, "attachments"],
      queryFn: ({ signal }: { signal: AbortSignal }) => unwrap(api.GET("/api/v1/jobs/{id}/attachments", { params: { path: { id: job.id } }, signal })),
    })),
  });
  const [target, setTarget] = useState("");
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState("");
  const [error, setError] = useState("");
  const [over, setOver] = useState(false);
  const picker = useRef<HTMLInputElement>(null);

  if (jobs.isPending) return <Spinner label="Loading files" />;
  if (jobs.isError) return <ErrorState error={jobs.error} onRetry={() => void jobs.refetch()} />;
  if (jobList.length === 0) {
    return (
      <p className="muted">
        Files are kept with a job (photos from the field, documents). This client has no job yet: <Link to={`/jobs/new?client_id=${id}`}>create one</Link>.
      </p>
    );
  }
  const jobId = target || jobList[0]!.id;
  const all: { job: (typeof jobList)[number]; file: Attachment }[] = jobList.flatMap((job, i) => (files[i]?.data ?? []).map((file) => ({ job, file })));
  all.sort((a, b) => b.file.created_at.localeCompare(a.file.created_at));
  const loading = files.some((f) => f.isPending);
  const failed = files.find((f) => f.isError);

  async function upload(list: FileList | File[] | null) {
    const chosen = Array.from(list ?? []);
    if (chosen.length === 0) return;
    setBusy(true);
    setError("");
    setMessage("");
    let done = 0;
    try {
      for (const file of chosen) {
        const form = new FormData();
        form.append("file", file);
        await unwrap(
          api.POST("/api/v1/jobs/{id}/attachments", {
            params: { path: { id: jobId } },
            body: form as unknown as { file: string },
            // openapi-fetch would JSON-encode the body: hand it the FormData as is.
            bodySerializer: (body) => body as unknown as FormData,
          }),
        );
        done += 1;
      }
      setMessage(`${done} ${done === 1 ? "file" : "files"} uploaded.`);
    } catch (e) {
      setError(`${done > 0 ? `${done} uploaded, then: ` : ""}${describeError(e)}`);
    } finally {
      setBusy(false);
      if (picker.current) picker.current.value = "";
      void queryClient.invalidateQueries({ queryKey: ["jobs", jobId, "attachments"] });
    }
  }

  async function remove(job: string, file: Attachment) {
    if (!window.confirm(`Delete ${file.filename}? This cannot be undone.`)) return;
    setError("");
    setMessage("");
    const key = ["jobs", job, "attachments"];
    const before = queryClient.getQueryData<Attachment[]>(key);
    // Gone at once; put back if the server refuses.
    queryClient.setQueryData<Attachment[]>(key, (list) => list?.filter((a) => a.id !== file.id));
    try {
      await unwrap(api.DELETE("/api/v1/jobs/{id}/attachments/{attachment_id}", { params: { path: { id: job, attachment_id: file.id } } }));
      setMessage(`${file.filename} deleted.`);
    } catch (e) {
      queryClient.setQueryData(key, before);
      setError(describeError(e));
    }
  }

  function drop(event: DragEvent) {
    event.preventDefault();
    setOver(false);
    if (!busy) void upload(event.dataTransfer.files);
  }

  return (
    <div className="client-files">
      <div
        className={`dropzone${over ? " dropzone--over" : ""}`}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={drop}
      >
        <div className="field dropzone__job">
          <label htmlFor="client-files-job">Add files to the job</label>
          <select id="client-files-job" value={jobId} onChange={(e) => setTarget(e.target.value)}>
            {jobList.map((job) => (
              <option key={job.id} value={job.id}>
                #{job.number} {job.title}
              </option>
            ))}
          </select>
        </div>
        <p className="dropzone__hint">Drop photos or PDFs here, or</p>
        <input ref={picker} id="client-files-input" className="visually-hidden" type="file" accept={ACCEPT} multiple onChange={(e) => void upload(e.target.files)} />
        <label htmlFor="client-files-input" className="button" aria-disabled={busy || undefined}>
          {busy ? "Uploading…" : "Choose files"}
        </label>
        <p className="muted dropzone__fine">JPEG, PNG, GIF, WebP or PDF, up to 25 MB each.</p>
      </div>
      <p role="status" className="client-files__status">
        {message}
      </p>
      {error && (
        <p role="alert" className="field__error">
          {error}
        </p>
      )}
      {failed && <ErrorState error={failed.error} onRetry={() => void failed.refetch()} />}
      {loading && all.length === 0 ? (
        <Spinner label="Loading files" />
      ) : all.length === 0 ? (
        <p className="muted">No files yet.</p>
      ) : (
        <ul className="file-list">
          {all.map(({ job, file }) => (
            <li key={file.id} className="file-list__item">
              <a href={file.url} target="_blank" rel="noreferrer" className="file-list__thumb" aria-hidden="true" tabIndex={-1}>
                {file.thumbnail_url ? <img src={file.thumbnail_url} alt="" loading="lazy" /> : <span>{file.content_type === "application/pdf" ? "PDF" : "File"}</span>}
              </a>
              <span className="file-list__main">
                <a href={file.url} target="_blank" rel="noreferrer" className="file-list__name">
                  {file.filename}
                </a>
                <span className="muted file-list__meta">
                  <Link to={`/jobs/${job.id}`}>#{job.number}</Link> · {fmt.dateTime(file.created_at)} · {size(file.bytes)}
                </span>
              </span>
              <button type="button" className="button" onClick={() => void remove(job.id, file)}>
                Delete<span className="visually-hidden"> {file.filename}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
