import { useEffect, useRef, useState, type FormEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useParams } from "react-router";
import { ApiProblem, describeError, isProblem } from "../../api/problem";
import { StaleEdit, useStaleEdit } from "../../components/StaleEdit";
import { changedFields, type FieldSpec } from "../../components/staleDiff";
import { SelectField, TextAreaField, TextField } from "../../components/Field";
import { Icon } from "../../components/Icon";
import { EmptyState, ErrorState, FormError, PageHeader, Spinner } from "../../components/States";
import { currencyDigits } from "../../lib/format";
import { useFormat } from "../../lib/locale";
import { blankLine, lineFromJob, LinesFieldset, parseLines, type Line } from "./JobLines";
import { fetchJob, updateJob, useJob, type Job } from "./api";
import "./jobs.css";

type Errors = Record<string, string>;

/** `/jobs/:id/edit`: the job's title, instructions, invoicing and line items. Visits are
 * changed on the schedule. */
export function JobEdit() {
  const { id = "" } = useParams();
  const job = useJob(id);
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
  if (job.data.status !== "active") {
    return (
      <EmptyState title="This job is closed" action={<Link to={`/jobs/${job.data.id}`} className="button">Back to the job</Link>}>
        <p>A {job.data.status} job cannot be changed.</p>
      </EmptyState>
    );
  }
  // Not keyed by version: a refetch while editing (the live connection) must not
  // replace what is typed; a stale save says who changed what instead.
  return <JobEditForm key={job.data.id} job={job.data} />;
}

const billingLabels: Record<Job["billing"], string> = { per_visit: "After each visit", on_completion: "When the job is complete" };

/** What the edit form holds, as a stale edit compares it. */
export function jobFormValues(v: { title: string; instructions: string; billing: Job["billing"]; lines: Line[] }) {
  return {
    title: v.title,
    instructions: v.instructions,
    billing: billingLabels[v.billing],
    lines: v.lines.filter((l) => l.name.trim()).map((l) => `${l.quantity.trim() || "1"} × ${l.name.trim()} at ${l.price.trim() || "0"}`),
  };
}

export const jobFields: FieldSpec[] = [
  { key: "title", label: "Title" },
  { key: "instructions", label: "Instructions" },
  { key: "billing", label: "Invoicing" },
  { key: "lines", label: "Line items" },
];

function savedValues(job: Job, digits: number) {
  return jobFormValues({
    title: job.title,
    instructions: job.instructions ?? "",
    billing: job.billing,
    lines: job.lines.map((l, i) => lineFromJob(l, i + 1, digits)),
  });
}

function JobEditForm({ job: opened }: { job: Job }) {
  const fmt = useFormat();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const digits = currencyDigits(fmt.currency);
  // The job the form was filled from: its version is the one a save is based on.
  const [job, setJob] = useState(opened);
  const [title, setTitle] = useState(job.title);
  const [instructions, setInstructions] = useState(job.instructions ?? "");
  const [billing, setBilling] = useState(job.billing);
  const [lines, setLines] = useState<Line[]>(() => (job.lines.length > 0 ? job.lines.map((l, i) => lineFromJob(l, i + 1, digits)) : [blankLine()]));
  const [errors, setErrors] = useState<Errors>({});
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const { stale, catchStale, clear } = useStaleEdit(() => fetchJob(job.id));
  const formRef = useRef<HTMLFormElement>(null);

  useEffect(() => {
    if (Object.keys(errors).length > 0) formRef.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
  }, [errors]);

  function fill(from: Job) {
    setJob(from);
    setTitle(from.title);
    setInstructions(from.instructions ?? "");
    setBilling(from.billing);
    setLines(from.lines.length > 0 ? from.lines.map((l, i) => lineFromJob(l, i + 1, digits)) : [blankLine()]);
    setErrors({});
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    await save(job);
  }

  /** Send the form, based on `against` (the job read, or theirs after a conflict). */
  async function save(against: Job) {
    const local: Errors = {};
    if (!title.trim()) local.title = "Say what the job is.";
    const parsed = parseLines(lines, digits);
    if (parsed.error) local.lines = parsed.error;
    setErrors(local);
    setError(undefined);
    if (Object.keys(local).length > 0) {
      setError("Please correct the fields marked below.");
      return;
    }
    setBusy(true);
    try {
      const updated = await updateJob(job.id, { title: title.trim(), instructions: instructions.trim() || null, billing, lines: parsed.lines, version: against.version });
      queryClient.setQueryData(["jobs", job.id], updated);
      void queryClient.invalidateQueries({ queryKey: ["jobs"] });
      void queryClient.invalidateQueries({ queryKey: ["schedule"] });
      navigate(`/jobs/${job.id}`);
    } catch (e) {
      if (catchStale(e)) {
        // StaleEdit says who changed what and offers the two ways on.
      } else if (e instanceof ApiProblem && e.errors.length > 0) {
        setErrors(e.messagesBy((field) => (field.startsWith("lines") ? "lines" : field)));
        setError("Please correct the fields marked below.");
      } else setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link to={`/jobs/${job.id}`}>
          <Icon name="back" size={14} /> Job #{job.number}
        </Link>
      </nav>
      <PageHeader title={`Edit job #${job.number}`} />
      <form className="form job-form" onSubmit={(e) => void submit(e)} noValidate ref={formRef}>
        {stale && (
          <StaleEdit
            stale={stale}
            what="job"
            changes={stale.theirs && changedFields(jobFields, savedValues(job, digits), savedValues(stale.theirs, digits), jobFormValues({ title, instructions, billing, lines }))}
            busy={busy}
            onReload={(theirs) => {
              fill(theirs);
              queryClient.setQueryData(["jobs", theirs.id], theirs);
              clear();
            }}
            onOverwrite={(theirs) => {
              clear();
              setJob(theirs);
              void save(theirs);
            }}
          />
        )}
        <FormError message={error} />
        <fieldset>
          <legend>The work</legend>
          <TextField label="Title" name="title" value={title} error={errors.title} onChange={(e) => setTitle(e.target.value)} autoComplete="off" />
          <TextAreaField label="Instructions" name="instructions" value={instructions} error={errors.instructions} onChange={(e) => setInstructions(e.target.value)} rows={3} />
          <SelectField label="Invoicing" name="billing" value={billing} error={errors.billing} onChange={(e) => setBilling(e.target.value as Job["billing"])}>
            <option value="per_visit">After each visit</option>
            <option value="on_completion">When the job is complete</option>
          </SelectField>
        </fieldset>
        <LinesFieldset lines={lines} setLines={setLines} error={errors.lines} currency={fmt.currency} />
        <p className="muted">Visits are moved and assigned on the schedule.</p>
        <div className="form__actions">
          <button type="submit" className="button button--primary" disabled={busy || stale !== null}>
            {busy ? "Saving…" : "Save changes"}
          </button>
          <Link to={`/jobs/${job.id}`} className="button">
            Cancel
          </Link>
        </div>
      </form>
    </>
  );
}
