import { useState, type ReactNode } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Link, useParams } from "react-router";
import { useLiveTopic } from "../../api/live";
import { describeError, isProblem } from "../../api/problem";
import { Dialog } from "../../components/Dialog";
import { Icon } from "../../components/Icon";
import { StaleEdit, useStaleEdit } from "../../components/StaleEdit";
import { changedFields, type FieldSpec } from "../../components/staleDiff";
import { EmptyState, ErrorState, FormError, PageHeader, Spinner } from "../../components/States";
import { useFormat } from "../../lib/locale";
import { addressLine, cancelJob, completeJob, completeVisit, fetchJob, useClient, useJob, useJobAttachments, useProperties, useTeam, visitSignature, type Attachment, type Job, type Visit } from "./api";
import { JobNotes } from "./JobNotes";
import { VisitWork, visitPhotos } from "./VisitWork";
import { describeRrule } from "./rruleText";
import "./jobs.css";

export function JobPage() {
  const { id = "" } = useParams();
  const job = useJob(id);
  useLiveTopic(id ? `job:${id}` : null);

  if (job.isPending) return <Spinner label="Loading job" />;
  if (job.isError) {
    if (isProblem(job.error, "job_not_found") || isProblem(job.error, "not_found") || isProblem(job.error, "invalid_parameter")) {
      return (
        <EmptyState title="No such job" action={<Link to="/jobs" className="button">All jobs</Link>}>
          <p>It may have been deleted, or the link is wrong.</p>
        </EmptyState>
      );
    }
    return <ErrorState error={job.error} onRetry={() => void job.refetch()} />;
  }
  return <JobDetail job={job.data} />;
}

function JobDetail({ job }: { job: Job }) {
  const fmt = useFormat();
  const client = useClient(job.client_id);
  const properties = useProperties(job.property_id ? job.client_id : undefined);
  const team = useTeam();
  const attachments = useJobAttachments(job.id);
  const names = new Map((team.data ?? []).map((u) => [u.id, u.name]));
  const property = properties.data?.items.find((p) => p.id === job.property_id);
  const [action, setAction] = useState<"complete" | "cancel" | null>(null);
  const open = job.visits.filter((v) => v.status === "scheduled" || v.status === "in_progress");
  const clientName = client.data?.display_name ?? job.visits[0]?.client_name ?? "Client";

  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link to="/jobs">
          <Icon name="back" size={14} /> Jobs
        </Link>
      </nav>
      <PageHeader
        title={`#${job.number} ${job.title}`}
        subtitle={
          <>
            <span className={`badge badge--${job.status}`}>{job.status}</span>
            <span className="muted">{job.billing === "per_visit" ? "Invoiced per visit" : "Invoiced on completion"}</span>
          </>
        }
        actions={
          job.status === "active" && (
            <>
              <Link to={`/jobs/${job.id}/edit`} className="button">
                Edit
              </Link>
              <button type="button" className="button button--primary" onClick={() => setAction("complete")}>
                Complete job
              </button>
              <button type="button" className="button" onClick={() => setAction("cancel")}>
                Cancel job
              </button>
            </>
          )
        }
      />
      <div className="detail-grid">
        <section className="card" aria-labelledby="job-client-h">
          <h2 id="job-client-h">Client and place</h2>
          <dl className="facts">
            <Fact label="Client">
              <Link to={`/clients/${job.client_id}`}>{clientName}</Link>
            </Fact>
            <Fact label="Property">
              {job.property_id ? (property ? [property.name, addressLine(property.address)].filter(Boolean).join(": ") : "…") : addressLine(client.data?.billing_address) || "No address"}
            </Fact>
            {job.recurrence && <Fact label="Repeats">{describeRrule(job.recurrence.rrule)}</Fact>}
            <Fact label="Created">{fmt.date(job.created_at)}</Fact>
          </dl>
          {job.instructions && (
            <>
              <h3>Instructions</h3>
              <p className="pre-line">{job.instructions}</p>
            </>
          )}
        </section>
        <section className="card" aria-labelledby="job-lines-h">
          <h2 id="job-lines-h">Line items</h2>
          {job.lines.length === 0 ? (
            <p className="muted">No line items.</p>
          ) : (
            <table className="lines">
              <thead>
                <tr>
                  <th scope="col">Item</th>
                  <th scope="col" className="num">
                    Qty
                  </th>
                  <th scope="col" className="num">
                    Price
                  </th>
                  <th scope="col" className="num">
                    Total
                  </th>
                </tr>
              </thead>
              <tbody>
                {job.lines.map((l) => (
                  <tr key={l.id}>
                    <td>
                      {l.name}
                      {l.description && <span className="block muted">{l.description}</span>}
                    </td>
                    <td className="num">{fmt.number(l.quantity)}</td>
                    <td className="num">{fmt.money(l.unit_price, { currency: job.currency })}</td>
                    <td className="num">{fmt.money(l.line_total, { currency: job.currency })}</td>
                  </tr>
                ))}
              </tbody>
              <tfoot>
                <tr>
                  <th scope="row" colSpan={3}>
                    Total
                  </th>
                  <td className="num">
                    <strong>{fmt.money(job.total, { currency: job.currency })}</strong>
                  </td>
                </tr>
              </tfoot>
            </table>
          )}
        </section>
      </div>
      <section className="card job-visits" aria-labelledby="job-visits-h">
        <div className="card__head">
          <h2 id="job-visits-h">Visits ({job.visits.length})</h2>
          <Link to="/schedule" className="card__link">
            Schedule <Icon name="chevron" size={14} />
          </Link>
        </div>
        {job.visits.length === 0 ? (
          <p className="muted">No visits.</p>
        ) : (
          <ul className="visit-list">
            {job.visits.map((v) => (
              <VisitRow
                key={v.id}
                visit={v}
                names={names}
                signature={visitSignature(attachments.data, v.id)}
                photos={visitPhotos(attachments.data, v.id)}
                canComplete={job.status === "active"}
              />
            ))}
          </ul>
        )}
      </section>
      <JobNotes jobId={job.id} />
      <JobFiles attachments={attachments.data} visitIds={new Set(job.visits.map((v) => v.id))} loading={attachments.isPending} />
      {action && <ActionDialog job={job} action={action} openVisits={open.length} onClose={() => setAction(null)} />}
    </>
  );
}

function VisitRow({
  visit,
  names,
  signature,
  photos,
  canComplete,
}: {
  visit: Visit;
  names: Map<string, string>;
  signature?: Attachment;
  photos: Attachment[];
  canComplete: boolean;
}) {
  const fmt = useFormat();
  const queryClient = useQueryClient();
  const complete = useMutation({
    mutationFn: () => completeVisit(visit.id),
    onSuccess: () =>
      Promise.all([
        queryClient.invalidateQueries({ queryKey: ["jobs"] }),
        queryClient.invalidateQueries({ queryKey: ["schedule"] }),
        queryClient.invalidateQueries({ queryKey: ["invoices"] }),
        queryClient.invalidateQueries({ queryKey: ["reports"] }),
      ]),
  });
  const open = visit.status === "scheduled" || visit.status === "in_progress";
  const when = !visit.starts_at
    ? "Not scheduled"
    : visit.anytime
      ? `${fmt.date(visit.starts_at)}, any time`
      : `${fmt.dateTime(visit.starts_at)} – ${visit.ends_at ? fmt.time(visit.ends_at) : ""}`;
  const who = visit.assignee_ids.map((id) => names.get(id) ?? "Former team member");
  const done = visit.checklist.filter((c) => c.done).length;
  return (
    <li className="visit-row">
      <span className="visit-row__when">
        <Icon name="clock" size={16} />
        {when}
      </span>
      <span className="visit-row__who">{who.length > 0 ? who.join(", ") : <span className="muted">Unassigned</span>}</span>
      <span className="visit-row__extra muted">
        {visit.checklist.length > 0 ? `Checklist ${done}/${visit.checklist.length}` : ""}
        {visit.notes ? `${visit.checklist.length > 0 ? " · " : ""}Note: ${visit.notes}` : ""}
      </span>
      <span className={`badge badge--${visit.status}`}>{visit.status.replace("_", " ")}</span>
      {canComplete && open && visit.starts_at && (
        <button type="button" className="button visit-row__action" onClick={() => complete.mutate()} disabled={complete.isPending}>
          {complete.isPending ? "Completing…" : "Complete visit"}
          <span className="visually-hidden"> of {when}</span>
        </button>
      )}
      {complete.isError && (
        <p className="field__error visit-row__error" role="alert">
          {describeError(complete.error)}
        </p>
      )}
      <VisitWork visit={visit} names={names} photos={photos} when={when} />
      {signature && (
        <figure className="visit-row__signature">
          <img src={signature.url} alt={`Client's signature collected at the visit of ${when}`} />
          <figcaption className="muted">Client's signature, {fmt.dateTime(signature.created_at)}</figcaption>
        </figure>
      )}
    </li>
  );
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="facts__row">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

const jobFacts: FieldSpec[] = [
  { key: "status", label: "Status" },
  { key: "title", label: "Title" },
  { key: "instructions", label: "Instructions" },
  { key: "billing", label: "Invoicing" },
];

const factsOf = (j: Job) => ({
  status: j.status,
  title: j.title,
  instructions: j.instructions,
  billing: j.billing === "per_visit" ? "After each visit" : "When the job is complete",
});

function ActionDialog({ job, action, openVisits, onClose }: { job: Job; action: "complete" | "cancel"; openVisits: number; onClose: () => void }) {
  const queryClient = useQueryClient();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const { stale, catchStale, clear } = useStaleEdit(() => fetchJob(job.id));

  /** Do the action, on the version of `against` (the job shown, or theirs after a conflict). */
  async function run(against: Job = job) {
    setBusy(true);
    setError(undefined);
    try {
      const updated = action === "complete" ? await completeJob(job.id, against.version, openVisits > 0) : await cancelJob(job.id, against.version);
      queryClient.setQueryData(["jobs", job.id], updated);
      void queryClient.invalidateQueries({ queryKey: ["jobs"] });
      void queryClient.invalidateQueries({ queryKey: ["schedule"] });
      onClose();
    } catch (e) {
      if (!catchStale(e)) setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }

  const title = action === "complete" ? "Complete this job?" : "Cancel this job?";
  return (
    <Dialog title={title} onClose={onClose}>
      {stale && (
        <StaleEdit
          stale={stale}
          what="job"
          changes={stale.theirs && changedFields(jobFacts, factsOf(job), factsOf(stale.theirs), factsOf(job))}
          busy={busy}
          overwriteLabel={action === "complete" ? "Complete it anyway" : "Cancel it anyway"}
          onReload={(theirs) => {
            queryClient.setQueryData(["jobs", job.id], theirs);
            clear();
            onClose();
          }}
          onOverwrite={(theirs) => {
            clear();
            void run(theirs);
          }}
        />
      )}
      <FormError message={error} />
      {action === "complete" ? (
        <p>
          {openVisits > 0
            ? `Its ${openVisits} open ${openVisits === 1 ? "visit is" : "visits are"} completed too.`
            : "All its visits are done."}{" "}
          {job.billing === "on_completion" ? "The job is then ready to invoice." : ""}
        </p>
      ) : (
        <p>Its open visits come off the schedule. This cannot be undone.</p>
      )}
      <div className="form__actions dialog__actions">
        {!stale && (
          <button type="button" className="button button--primary" disabled={busy} onClick={() => void run()}>
            {action === "complete" ? "Complete job" : "Cancel job"}
          </button>
        )}
        <button type="button" className="button" onClick={onClose}>
          Keep it as it is
        </button>
      </div>
    </Dialog>
  );
}

/** The job's photos and files that belong to none of its visits (a visit's own, and
 * signatures, are shown with the visit). */
function JobFiles({ attachments, visitIds, loading }: { attachments?: Attachment[]; visitIds: Set<string>; loading: boolean }) {
  const files = attachments?.filter((a) => a.kind !== "signature" && !(a.visit_id && visitIds.has(a.visit_id))) ?? [];
  if (loading || files.length === 0) return null;
  return (
    <section className="card" aria-labelledby="job-files-h">
      <h2 id="job-files-h">Photos and files ({files.length})</h2>
      <ul className="job-files">
        {files.map((f) => (
          <li key={f.id}>
            <a href={f.url} target="_blank" rel="noreferrer">
              {f.thumbnail_url ? <img src={f.thumbnail_url} alt={f.filename} loading="lazy" /> : <span className="job-files__name">{f.filename}</span>}
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}
