import { useEffect, useRef, useState, type FormEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useParams } from "react-router";
import { ApiProblem, describeError, isProblem } from "../../api/problem";
import { SelectField, TextAreaField, TextField } from "../../components/Field";
import { Icon } from "../../components/Icon";
import { EmptyState, ErrorState, FormError, PageHeader, Spinner } from "../../components/States";
import { currencyDigits } from "../../lib/format";
import { useFormat } from "../../lib/locale";
import { blankLine, lineFromJob, LinesFieldset, parseLines, type Line } from "./JobLines";
import { updateJob, useJob, type Job } from "./api";
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
  // A new form when the job loads again (after "Reload"), not an edit over old values.
  return <JobEditForm key={job.data.version} job={job.data} />;
}

function JobEditForm({ job }: { job: Job }) {
  const fmt = useFormat();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const digits = currencyDigits(fmt.currency);
  const [title, setTitle] = useState(job.title);
  const [instructions, setInstructions] = useState(job.instructions ?? "");
  const [billing, setBilling] = useState(job.billing);
  const [lines, setLines] = useState<Line[]>(() => (job.lines.length > 0 ? job.lines.map((l, i) => lineFromJob(l, i + 1, digits)) : [blankLine()]));
  const [errors, setErrors] = useState<Errors>({});
  const [error, setError] = useState<string>();
  const [stale, setStale] = useState(false);
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);

  useEffect(() => {
    if (Object.keys(errors).length > 0) formRef.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
  }, [errors]);

  async function submit(event: FormEvent) {
    event.preventDefault();
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
      const updated = await updateJob(job.id, { title: title.trim(), instructions: instructions.trim() || null, billing, lines: parsed.lines, version: job.version });
      queryClient.setQueryData(["jobs", job.id], updated);
      void queryClient.invalidateQueries({ queryKey: ["jobs"] });
      void queryClient.invalidateQueries({ queryKey: ["schedule"] });
      navigate(`/jobs/${job.id}`);
    } catch (e) {
      if (e instanceof ApiProblem && (e.code === "version_conflict" || e.status === 412)) {
        setStale(true);
        setError("Someone else changed this job while you were editing it. Reload it to see their changes; what you typed here is not saved.");
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
        <FormError message={error} />
        {stale && (
          <p>
            <button type="button" className="button" onClick={() => void queryClient.invalidateQueries({ queryKey: ["jobs", job.id] })}>
              Reload the job
            </button>
          </p>
        )}
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
          <button type="submit" className="button button--primary" disabled={busy || stale}>
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
