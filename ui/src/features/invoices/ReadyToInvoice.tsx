import { useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { Link } from "react-router";
import { describeError } from "../../api/problem";
import { Icon } from "../../components/Icon";
import { EmptyState, ErrorState, FormError, PageHeader, Spinner } from "../../components/States";
import { useFormat } from "../../lib/locale";
import { createInvoice, sendInvoice, useJobsToInvoice, type Job } from "./api";
import { InvoiceTabs } from "./InvoiceTabs";
import "./invoices.css";

type Outcome = { ok: true; invoiceId: string; number: string | null | undefined } | { ok: false; message: string; invoiceId?: string };

/** Jobs with completed, uninvoiced work: pick some, then create and send their invoices in one go. */
export function ReadyToInvoice() {
  const fmt = useFormat();
  const queryClient = useQueryClient();
  const pages = useJobsToInvoice();
  const fetched = pages.data?.pages.flatMap((p) => p.items) ?? [];
  const [picked, setPicked] = useState<string[]>([]);
  // Jobs invoiced here leave the server's list; they stay on screen with their outcome.
  const [handled, setHandled] = useState<Job[]>([]);
  const jobs = [...handled.filter((h) => !fetched.some((j) => j.id === h.id)), ...fetched];
  const [send, setSend] = useState(true);
  const [busy, setBusy] = useState(false);
  const [progress, setProgress] = useState<{ done: number; of: number } | null>(null);
  const [outcomes, setOutcomes] = useState<Record<string, Outcome>>({});
  const [error, setError] = useState<string>();

  const open = jobs.filter((j) => !outcomes[j.id]?.ok);
  const all = open.length > 0 && open.every((j) => picked.includes(j.id));

  async function run() {
    setError(undefined);
    const chosen = jobs.filter((j) => picked.includes(j.id));
    if (chosen.length === 0) {
      setError("Choose at least one job.");
      return;
    }
    setBusy(true);
    setHandled((h) => [...chosen, ...h.filter((x) => !chosen.some((c) => c.id === x.id))]);
    setProgress({ done: 0, of: chosen.length });
    const results: Record<string, Outcome> = {};
    // One job at a time: each is its own invoice, and one refusal (a client without an
    // email address) leaves the others done.
    for (const [i, job] of chosen.entries()) {
      let invoiceId: string | undefined;
      try {
        const invoice = await createInvoice({ job_id: job.id });
        invoiceId = invoice.id;
        const final = send ? await sendInvoice(invoice.id, invoice.version) : invoice;
        results[job.id] = { ok: true, invoiceId: final.id, number: final.number };
      } catch (e) {
        results[job.id] = { ok: false, message: describeError(e), invoiceId };
      }
      setOutcomes((o) => ({ ...o, [job.id]: results[job.id]! }));
      setProgress({ done: i + 1, of: chosen.length });
    }
    setPicked([]);
    setBusy(false);
    void queryClient.invalidateQueries({ queryKey: ["invoices"] });
    void queryClient.invalidateQueries({ queryKey: ["reports"] });
    void queryClient.invalidateQueries({ queryKey: ["jobs"] });
  }

  const made = Object.values(outcomes).filter((o) => o.ok).length;
  const failed = Object.values(outcomes).filter((o) => !o.ok).length;

  return (
    <>
      <PageHeader title="Invoices" />
      <InvoiceTabs />
      <h2 className="section-title">Ready to invoice</h2>
      <FormError message={error} />
      {progress && (
        <div className="notice" role="status" aria-live="polite">
          {busy ? `Invoicing ${progress.done} of ${progress.of}…` : `${made} ${made === 1 ? "invoice" : "invoices"} ${send ? "created and sent" : "created"}${failed ? `, ${failed} refused (see below)` : ""}.`}
        </div>
      )}
      {pages.isPending ? (
        <Spinner label="Loading jobs to invoice" />
      ) : pages.isError ? (
        <ErrorState error={pages.error} onRetry={() => void pages.refetch()} />
      ) : jobs.length === 0 && Object.keys(outcomes).length === 0 ? (
        <EmptyState title="Nothing to invoice" icon={<Icon name="invoices" size={32} />}>
          <p>Jobs show here once their visits are completed and not yet invoiced.</p>
        </EmptyState>
      ) : (
        <form
          className="ready"
          onSubmit={(e) => {
            e.preventDefault();
            void run();
          }}
        >
          <div className="ready__bar">
            <label className="check">
              <input type="checkbox" checked={all} disabled={busy || open.length === 0} onChange={() => setPicked(all ? [] : open.map((j) => j.id))} />
              Select all
            </label>
            <label className="check">
              <input type="checkbox" checked={send} disabled={busy} onChange={(e) => setSend(e.target.checked)} />
              Send each invoice by email
            </label>
            <button type="submit" className="button button--primary" disabled={busy || picked.length === 0}>
              {busy ? "Working…" : `${send ? "Create and send" : "Create"} ${picked.length || ""} ${picked.length === 1 ? "invoice" : "invoices"}`.replace(/\s+/g, " ")}
            </button>
          </div>
          <ul className="ready__list" aria-label="Jobs ready to invoice">
            {jobs.map((job) => (
              <ReadyRow
                key={job.id}
                job={job}
                checked={picked.includes(job.id)}
                disabled={busy || Boolean(outcomes[job.id]?.ok)}
                outcome={outcomes[job.id]}
                onToggle={() => setPicked((p) => (p.includes(job.id) ? p.filter((x) => x !== job.id) : [...p, job.id]))}
                money={(minor) => fmt.money(minor, { currency: job.currency })}
              />
            ))}
          </ul>
          {pages.hasNextPage && (
            <button type="button" className="button" onClick={() => void pages.fetchNextPage()} disabled={pages.isFetchingNextPage}>
              Show more
            </button>
          )}
        </form>
      )}
    </>
  );
}

function ReadyRow({ job, checked, disabled, outcome, onToggle, money }: { job: Job; checked: boolean; disabled: boolean; outcome?: Outcome; onToggle: () => void; money: (minor: number) => string }) {
  const done = job.visits.filter((v) => v.status === "completed").length;
  const client = job.visits[0]?.client_name;
  return (
    <li className="ready__row">
      <label className="check ready__pick">
        <input type="checkbox" checked={checked} disabled={disabled} onChange={onToggle} />
        <span className="visually-hidden">
          Invoice job {job.number} {job.title}
        </span>
      </label>
      <span className="ready__main">
        <Link to={`/jobs/${job.id}`}>
          {job.number} {job.title}
        </Link>
        <span className="muted">
          {[client, `${done} completed ${done === 1 ? "visit" : "visits"}`, job.billing === "per_visit" ? "billed per visit" : "billed on completion"].filter(Boolean).join(" · ")}
        </span>
        {outcome && (
          <span className={outcome.ok ? "ready__ok" : "ready__fail"} role={outcome.ok ? undefined : "alert"}>
            {outcome.ok ? (
              <Link to={`/invoices/${outcome.invoiceId}`}>Invoice {outcome.number ?? "draft"} created</Link>
            ) : (
              <>
                {outcome.message}
                {outcome.invoiceId && (
                  <>
                    {" "}
                    <Link to={`/invoices/${outcome.invoiceId}`}>Open the draft</Link>
                  </>
                )}
              </>
            )}
          </span>
        )}
      </span>
      <span className="ready__amount">
        {money(job.total)}
        <span className="block muted ready__note">job lines, before discount and tax</span>
      </span>
    </li>
  );
}
