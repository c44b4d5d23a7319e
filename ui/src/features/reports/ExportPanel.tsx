// CSV exports: ask for one, watch it being written (the worker makes it in the
// background), then download it from its signed address (valid 15 minutes; the
// file is kept 7 days, listed below).
import { useEffect, useRef, useState } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { describeError } from "../../api/problem";
import { SelectField } from "../../components/Field";
import { FormError } from "../../components/States";
import { useFormat } from "../../lib/locale";
import { getExport, requestExport, useExports, type Export, type ExportKind } from "./api";

const kinds: { value: ExportKind; label: string; ranged: boolean }[] = [
  { value: "invoices", label: "Invoices issued", ranged: true },
  { value: "payments", label: "Payments received", ranged: true },
  { value: "clients", label: "All clients", ranged: false },
];

function kindLabel(kind: ExportKind): string {
  return kinds.find((k) => k.value === kind)?.label ?? kind;
}

function sizeText(bytes: number | null | undefined): string {
  if (!bytes) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Poll one export until it is ready or failed. */
export function useExportProgress(id: string | null, pollMs: number) {
  return useQuery({
    queryKey: ["reports", "exports", id],
    queryFn: () => getExport(id ?? ""),
    enabled: id !== null,
    refetchInterval: (query) => (query.state.data?.status === "pending" || !query.state.data ? pollMs : false),
    refetchOnWindowFocus: false,
    staleTime: 0,
  });
}

export function ExportPanel({ range, pollMs = 1000 }: { range: { from: string; to: string }; pollMs?: number }) {
  const fmt = useFormat();
  const queryClient = useQueryClient();
  const [kind, setKind] = useState<ExportKind>("invoices");
  const [id, setId] = useState<string | null>(null);
  const [requestError, setRequestError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [started, setStarted] = useState(0);
  const [elapsed, setElapsed] = useState(0);
  const progress = useExportProgress(id, pollMs);
  const current: Export | undefined = progress.data;
  const pending = busy || (id !== null && (!current || current.status === "pending") && !progress.isError);
  const downloadRef = useRef<HTMLAnchorElement>(null);

  // A clock for the progress line while the file is written.
  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(() => setElapsed(Math.round((Date.now() - started) / 1000)), 500);
    return () => clearInterval(timer);
  }, [pending, started]);

  // Once ready: the download link takes the focus, and the recent list shows it.
  useEffect(() => {
    if (current?.status === "ready") {
      downloadRef.current?.focus();
      void queryClient.invalidateQueries({ queryKey: ["reports", "exports"], exact: true });
    }
  }, [current?.status, queryClient]);

  async function start() {
    setBusy(true);
    setRequestError(undefined);
    setId(null);
    setStarted(Date.now());
    setElapsed(0);
    try {
      const created = await requestExport(kind, range);
      queryClient.setQueryData(["reports", "exports", created.id], created);
      setId(created.id);
    } catch (e) {
      setRequestError(describeError(e));
    } finally {
      setBusy(false);
    }
  }

  const ranged = kinds.find((k) => k.value === kind)?.ranged ?? true;
  return (
    <section className="card export-panel" aria-labelledby="export-h">
      <h2 id="export-h">Export to CSV</h2>
      <p className="muted small">
        {ranged ? `${fmt.day(range.from)} – ${fmt.day(range.to)}, ` : ""}one row per record, for a spreadsheet or your accountant.
      </p>
      <div className="export-panel__controls">
        <SelectField label="What to export" value={kind} onChange={(e) => setKind(e.target.value as ExportKind)} disabled={pending}>
          {kinds.map((k) => (
            <option key={k.value} value={k.value}>
              {k.label}
            </option>
          ))}
        </SelectField>
        <button type="button" className="button button--primary" onClick={() => void start()} disabled={pending}>
          {pending ? "Exporting…" : "Export CSV"}
        </button>
      </div>
      <FormError message={requestError ?? (progress.isError ? describeError(progress.error) : undefined)} />
      <div aria-live="polite" className="export-panel__status">
        {pending && (
          <div className="export-progress">
            <div className="export-progress__bar" role="progressbar" aria-label="Preparing the CSV file" aria-valuetext={`Preparing, ${elapsed} seconds so far`}>
              <span className="export-progress__fill" />
            </div>
            <span className="muted small">Preparing the file{elapsed > 0 ? ` (${elapsed} s)` : ""}… You can leave this page: you will be notified when it is ready.</span>
          </div>
        )}
        {current?.status === "ready" && current.url && (
          <p className="export-ready">
            <a ref={downloadRef} className="button" href={current.url} download>
              Download {kindLabel(current.kind).toLowerCase()} CSV
            </a>
            <span className="muted small">
              {current.rows != null ? `${fmt.number(current.rows)} ${current.rows === 1 ? "row" : "rows"}` : ""}
              {current.bytes ? `, ${sizeText(current.bytes)}` : ""}
            </span>
          </p>
        )}
        {current?.status === "failed" && <p className="form-error">The export failed: {current.error ?? "unknown reason"}. Try again.</p>}
      </div>
      <RecentExports />
    </section>
  );
}

function RecentExports() {
  const exports = useExports();
  const fmt = useFormat();
  const items = (exports.data ?? []).slice(0, 10);
  if (items.length === 0) return null;
  return (
    <>
      <h3>Recent exports</h3>
      <ul className="mini-list">
        {items.map((e) => (
          <li key={e.id}>
            <span className="mini-list__main">
              {kindLabel(e.kind)}
              {e.from && e.to ? ` · ${fmt.day(e.from)} – ${fmt.day(e.to)}` : ""}
              <span className="muted small block">{fmt.dateTime(e.created_at)}</span>
            </span>
            {e.status === "ready" && e.url ? (
              <a href={e.url} download>
                Download<span className="visually-hidden"> {kindLabel(e.kind)} export of {fmt.dateTime(e.created_at)}</span>
              </a>
            ) : (
              <span className={`badge badge--${e.status === "failed" ? "void" : "sent"}`}>{e.status}</span>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}
