import { useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useSearchParams } from "react-router";
import { ApiProblem, describeError } from "../../api/problem";
import { SelectField, TextAreaField, TextField } from "../../components/Field";
import { Icon } from "../../components/Icon";
import { FormError, PageHeader } from "../../components/States";
import { CLOCK, currencyDigits } from "../../lib/format";
import { useFormat } from "../../lib/locale";
import { useDebounced } from "../../lib/useDebounced";
import { isIsoDate, parseHhmm, today } from "../../lib/zoned";
import { blankLine, LinesFieldset, parseLines, type Line } from "./JobLines";
import { addressLine, createJob, useClientSearch, useProperties, useRecurrencePreview, useTeam, type JobInput, type RecurrencePreviewInput } from "./api";
import { check, defaultRule, describe, toRrule, weekdayCodes, weekdayNames, type Rule } from "./rrule";
import "./jobs.css";

type When = "none" | "once" | "repeat";
type Errors = Record<string, string>;

/** Which input shows a server error on `field`. */
function inputFor(field: string): string {
  if (field.startsWith("lines")) return "lines";
  if (field === "schedule.start_date") return "date";
  if (field === "schedule.start_time") return "time";
  if (field === "schedule.duration_minutes") return "duration";
  if (field === "schedule.rrule") return "rule";
  if (field.startsWith("schedule.assignee_ids")) return "assignees";
  if (field.startsWith("schedule")) return "date";
  return field;
}

export function JobNew() {
  const fmt = useFormat();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [params] = useSearchParams();
  const [search, setSearch] = useState("");
  const q = useDebounced(search.trim(), 250);
  const clients = useClientSearch(q);
  const [clientId, setClientId] = useState(params.get("client_id") ?? "");
  const properties = useProperties(clientId || undefined);
  const team = useTeam();
  const [propertyId, setPropertyId] = useState("");
  const [title, setTitle] = useState("");
  const [instructions, setInstructions] = useState("");
  const [billing, setBilling] = useState<"" | "per_visit" | "on_completion">("");
  const [lines, setLines] = useState<Line[]>([blankLine()]);
  const [when, setWhen] = useState<When>("once");
  const [date, setDate] = useState(() => today(fmt.timeZone));
  const [time, setTime] = useState("09:00");
  const [duration, setDuration] = useState("60");
  const [assignees, setAssignees] = useState<string[]>([]);
  const [rule, setRule] = useState<Rule>(() => defaultRule(today(fmt.timeZone)));
  const [errors, setErrors] = useState<Errors>({});
  const [error, setError] = useState<string>();
  const [conflict, setConflict] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  const anchor = useRef(date);

  // The client list: the search's matches, and the chosen one even when it is not among them.
  const options = clients.data?.items ?? [];
  useEffect(() => {
    if (!clientId && options.length === 1) setClientId(options[0]!.id);
  }, [clientId, options]);
  useEffect(() => {
    if (Object.keys(errors).length > 0) formRef.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
  }, [errors]);

  const digits = currencyDigits(fmt.currency);
  // The next visits come from the server (the code that will create them), asked
  // once the rule has stopped changing and passes the editor's own checks.
  const previewJson = useMemo(() => {
    if (when !== "repeat" || !isIsoDate(date) || Object.keys(check(rule)).length > 0) return "";
    const input: RecurrencePreviewInput = { start_date: date, start_time: time && parseHhmm(time) !== null ? time : null, rrule: toRrule(rule), limit: 5 };
    return JSON.stringify(input);
  }, [when, rule, date, time]);
  const settledPreview = useDebounced(previewJson, 300);
  const preview = useRecurrencePreview(settledPreview ? (JSON.parse(settledPreview) as RecurrencePreviewInput) : null);
  const previewProblem = preview.error instanceof ApiProblem ? preview.error : null;
  const previewStale = settledPreview !== previewJson || preview.isFetching;

  function body(allowOverlap: boolean): { input?: JobInput; errors: Errors } {
    const e: Errors = {};
    if (!clientId) e.client_id = "Choose the client.";
    if (!title.trim()) e.title = "Say what the job is.";
    const parsed = parseLines(lines, digits);
    if (parsed.error) e.lines = parsed.error;
    let schedule: JobInput["schedule"] = null;
    if (when !== "none") {
      if (!isIsoDate(date)) e.date = "Choose the first day.";
      if (time && parseHhmm(time) === null) e.time = "A time like 09:30, or empty for any time that day.";
      const minutes = Number(duration);
      if (time && !(Number.isInteger(minutes) && minutes >= 1 && minutes <= 1440)) e.duration = "Between 1 and 1440 minutes.";
      if (when === "repeat") {
        const r = check(rule);
        for (const [k, v] of Object.entries(r)) e[`rule.${k}`] = v;
      }
      schedule = {
        start_date: date,
        start_time: time || null,
        duration_minutes: time ? minutes : null,
        assignee_ids: assignees,
        rrule: when === "repeat" ? toRrule(rule) : null,
        allow_overlap: allowOverlap,
      };
    }
    return {
      errors: e,
      input: {
        client_id: clientId,
        property_id: propertyId || null,
        title: title.trim(),
        instructions: instructions.trim() || null,
        lines: parsed.lines,
        billing: billing || null,
        schedule,
      },
    };
  }

  async function submit(event: FormEvent | null, allowOverlap = false) {
    event?.preventDefault();
    const { input, errors: local } = body(allowOverlap);
    setError(undefined);
    setConflict(null);
    setErrors(local);
    if (Object.keys(local).length > 0 || !input) {
      setError("Please correct the fields marked below.");
      return;
    }
    setBusy(true);
    try {
      const job = await createJob(input);
      void queryClient.invalidateQueries({ queryKey: ["jobs"] });
      void queryClient.invalidateQueries({ queryKey: ["schedule"] });
      navigate(`/jobs/${job.id}`);
    } catch (e) {
      if (e instanceof ApiProblem && e.code === "schedule_conflict") {
        setConflict(e);
      } else if (e instanceof ApiProblem && e.errors.length > 0) {
        setErrors(e.messagesBy(inputFor));
        setError("Please correct the fields marked below.");
      } else setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }

  const names = new Map((team.data ?? []).map((u) => [u.id, u.name]));
  // The rule follows the first day until the person picks its days themselves.
  function changeDate(next: string) {
    setDate(next);
    if (!isIsoDate(next)) return;
    const before = defaultRule(anchor.current);
    anchor.current = next;
    const after = defaultRule(next);
    setRule((r) => ({
      ...r,
      days: r.days.length === 1 && r.days[0] === before.days[0] ? after.days : r.days,
      monthDay: r.monthDay === before.monthDay ? after.monthDay : r.monthDay,
      nth: r.nth === before.nth && r.nthDay === before.nthDay ? after.nth : r.nth,
      nthDay: r.nth === before.nth && r.nthDay === before.nthDay ? after.nthDay : r.nthDay,
    }));
  }
  const setRulePart = (part: Partial<Rule>) => setRule((r) => ({ ...r, ...part }));

  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link to="/jobs">
          <Icon name="back" size={14} /> Jobs
        </Link>
      </nav>
      <PageHeader title="New job" />
      <form className="form job-form" onSubmit={(e) => void submit(e)} noValidate ref={formRef}>
        <FormError message={error} />
        {conflict && (
          <div className="form-error" role="alert">
            <p>
              <strong>That time is taken.</strong> {conflict.detail}
            </p>
            <ul>
              {conflict.errors.map((c, i) => (
                <li key={i}>{c.message.replace(/user (\S+)/, (_, id: string) => names.get(id) ?? "A team member")}</li>
              ))}
            </ul>
            <button type="button" className="button" onClick={() => void submit(null, true)}>
              Book anyway
            </button>
          </div>
        )}
        <fieldset>
          <legend>For</legend>
          <TextField label="Find a client" type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="Name, email or phone" autoComplete="off" />
          <SelectField label="Client" name="client_id" value={clientId} error={errors.client_id} onChange={(e) => { setClientId(e.target.value); setPropertyId(""); }}>
            <option value="">Choose a client…</option>
            {clientId && !options.some((c) => c.id === clientId) && <option value={clientId}>The chosen client</option>}
            {options.map((c) => (
              <option key={c.id} value={c.id}>
                {c.display_name}
              </option>
            ))}
          </SelectField>
          {(properties.data?.items.length ?? 0) > 0 && (
            <SelectField label="Property" name="property_id" value={propertyId} error={errors.property_id} onChange={(e) => setPropertyId(e.target.value)}>
              <option value="">The client's billing address</option>
              {properties.data!.items.map((p) => (
                <option key={p.id} value={p.id}>
                  {[p.name, addressLine(p.address)].filter(Boolean).join(": ")}
                </option>
              ))}
            </SelectField>
          )}
        </fieldset>
        <fieldset>
          <legend>The work</legend>
          <TextField label="Title" name="title" value={title} error={errors.title} onChange={(e) => setTitle(e.target.value)} autoComplete="off" />
          <TextAreaField label="Instructions" name="instructions" value={instructions} error={errors.instructions} onChange={(e) => setInstructions(e.target.value)} rows={3} />
          <SelectField label="Invoicing" name="billing" value={billing} error={errors.billing} onChange={(e) => setBilling(e.target.value as typeof billing)}>
            <option value="">The account's default</option>
            <option value="per_visit">After each visit</option>
            <option value="on_completion">When the job is complete</option>
          </SelectField>
        </fieldset>
        <LinesFieldset lines={lines} setLines={setLines} error={errors.lines} currency={fmt.currency} />
        <fieldset>
          <legend>When</legend>
          <div className="radios" role="radiogroup" aria-label="Scheduling">
            {(
              [
                ["once", "One visit"],
                ["repeat", "Repeats"],
                ["none", "Not scheduled yet"],
              ] as const
            ).map(([value, label]) => (
              <label key={value} className="check">
                <input type="radio" name="when" value={value} checked={when === value} onChange={() => setWhen(value)} />
                {label}
              </label>
            ))}
          </div>
          {when !== "none" && (
            <>
              <div className="form__row">
                <TextField label={when === "repeat" ? "First day" : "Date"} type="date" name="start_date" value={date} error={errors.date} onChange={(e) => changeDate(e.target.value)} />
                <TextField label="Start time" type="time" name="start_time" value={time} error={errors.time} hint="Empty: any time that day." onChange={(e) => setTime(e.target.value)} />
                {time && <TextField label="Length (minutes)" type="number" min={1} max={1440} step={15} name="duration_minutes" value={duration} error={errors.duration} onChange={(e) => setDuration(e.target.value)} />}
              </div>
              <fieldset className="checks" aria-describedby={errors.assignees ? "assignees-error" : undefined}>
                <legend>Assign to</legend>
                {(team.data ?? []).map((u) => (
                  <label key={u.id} className="check">
                    <input type="checkbox" checked={assignees.includes(u.id)} onChange={() => setAssignees((a) => (a.includes(u.id) ? a.filter((x) => x !== u.id) : [...a, u.id]))} />
                    {u.name}
                  </label>
                ))}
                {errors.assignees && (
                  <p className="field__error" id="assignees-error">
                    {errors.assignees}
                  </p>
                )}
              </fieldset>
            </>
          )}
          {when === "repeat" && <RuleEditor rule={rule} onChange={setRulePart} errors={errors} />}
          {when === "repeat" && (
            <div className="rule-summary" aria-live="polite">
              <p>
                <strong>{describe(rule, (d) => fmt.day(d))}</strong>
                {time && parseHhmm(time) !== null ? ` at ${fmt.clock(time)}` : ", any time of day"}.
              </p>
              {!previewJson ? (
                <p className="muted">Complete the rule to see its visits.</p>
              ) : previewProblem && !previewStale ? (
                <p className="field__error" role="alert">
                  {previewProblem.errors.length > 0 ? `This rule does not work: ${previewProblem.errors.map((e) => e.message).join("; ")}.` : describeError(previewProblem)}
                </p>
              ) : preview.error && !previewStale ? (
                <p className="field__error">The next visits could not be worked out: {describeError(preview.error)}</p>
              ) : preview.data && preview.data.visits.length > 0 ? (
                <div className={previewStale ? "rule-preview--stale" : undefined} aria-busy={previewStale}>
                  <p className="muted">The first visits:</p>
                  <ol className="rule-preview">
                    {preview.data.visits.map((v) => (
                      <li key={v.index}>
                        {v.anytime
                          ? fmt.day(v.date, { weekday: "short", month: "short", day: "numeric", year: "numeric" })
                          : fmt.wallClock(v.local_start, { weekday: "short", month: "short", day: "numeric", year: "numeric", ...CLOCK })}
                      </li>
                    ))}
                  </ol>
                  <p className="muted">
                    {preview.data.generated === 1 ? "1 visit is" : `${preview.data.generated} visits are`} planned when the job is created
                    {rule.end === "never" || preview.data.generated >= 500 ? "; later ones are added as time goes on" : ""}. Times in {preview.data.time_zone.replace(/_/g, " ")}.
                  </p>
                </div>
              ) : (
                <p className="muted" aria-busy="true">
                  Working out the visits…
                </p>
              )}
            </div>
          )}
        </fieldset>
        <div className="form__actions">
          <button type="submit" className="button button--primary" disabled={busy}>
            {busy ? "Creating…" : "Create job"}
          </button>
          <Link to="/jobs" className="button">
            Cancel
          </Link>
        </div>
      </form>
    </>
  );
}

function RuleEditor({ rule, onChange, errors }: { rule: Rule; onChange: (part: Partial<Rule>) => void; errors: Errors }) {
  return (
    <fieldset className="rule-editor" aria-describedby={errors.rule ? "rule-error" : undefined}>
      <legend>Repeats</legend>
      <div className="form__row">
        <TextField label="Every" type="number" min={1} max={999} value={String(rule.interval)} error={errors["rule.interval"]} onChange={(e) => onChange({ interval: Number(e.target.value) })} className="field--narrow" />
        <SelectField label="Unit" value={rule.freq} onChange={(e) => onChange({ freq: e.target.value as Rule["freq"] })}>
          <option value="DAILY">{rule.interval > 1 ? "days" : "day"}</option>
          <option value="WEEKLY">{rule.interval > 1 ? "weeks" : "week"}</option>
          <option value="MONTHLY">{rule.interval > 1 ? "months" : "month"}</option>
        </SelectField>
      </div>
      {rule.freq === "WEEKLY" && (
        <fieldset className="checks weekdays">
          <legend>On</legend>
          {weekdayCodes.map((d) => (
            <label key={d} className="check">
              <input
                type="checkbox"
                checked={rule.days.includes(d)}
                onChange={() => onChange({ days: rule.days.includes(d) ? rule.days.filter((x) => x !== d) : [...rule.days, d] })}
              />
              {weekdayNames[d]}
            </label>
          ))}
          {errors["rule.days"] && <p className="field__error">{errors["rule.days"]}</p>}
        </fieldset>
      )}
      {rule.freq === "MONTHLY" && (
        <fieldset className="checks">
          <legend>On</legend>
          <label className="check">
            <input type="radio" name="monthly" checked={rule.monthly === "day"} onChange={() => onChange({ monthly: "day" })} />
            Day of the month
          </label>
          <label className="check">
            <input type="radio" name="monthly" checked={rule.monthly === "weekday"} onChange={() => onChange({ monthly: "weekday" })} />A weekday
          </label>
          {rule.monthly === "day" ? (
            <TextField label="Day" type="number" min={1} max={31} value={String(rule.monthDay)} error={errors["rule.monthDay"]} onChange={(e) => onChange({ monthDay: Number(e.target.value) })} className="field--narrow" />
          ) : (
            <div className="form__row">
              <SelectField label="Which" value={String(rule.nth)} onChange={(e) => onChange({ nth: Number(e.target.value) })}>
                <option value="1">First</option>
                <option value="2">Second</option>
                <option value="3">Third</option>
                <option value="4">Fourth</option>
                <option value="-1">Last</option>
              </SelectField>
              <SelectField label="Weekday" value={rule.nthDay} onChange={(e) => onChange({ nthDay: e.target.value as Rule["nthDay"] })}>
                {weekdayCodes.map((d) => (
                  <option key={d} value={d}>
                    {weekdayNames[d]}
                  </option>
                ))}
              </SelectField>
            </div>
          )}
        </fieldset>
      )}
      <fieldset className="checks">
        <legend>Ends</legend>
        <label className="check">
          <input type="radio" name="ends" checked={rule.end === "count"} onChange={() => onChange({ end: "count" })} />
          After a number of visits
        </label>
        <label className="check">
          <input type="radio" name="ends" checked={rule.end === "until"} onChange={() => onChange({ end: "until" })} />
          On a date
        </label>
        <label className="check">
          <input type="radio" name="ends" checked={rule.end === "never"} onChange={() => onChange({ end: "never" })} />
          Never
        </label>
        {rule.end === "count" && (
          <TextField label="Visits" type="number" min={1} max={10000} value={String(rule.count)} error={errors["rule.count"]} onChange={(e) => onChange({ count: Number(e.target.value) })} className="field--narrow" />
        )}
        {rule.end === "until" && <TextField label="Last day" type="date" value={rule.until} error={errors["rule.until"]} onChange={(e) => onChange({ until: e.target.value })} />}
      </fieldset>
      <p className="muted rule-editor__rrule">
        As an iCalendar rule: <code>{toRrule(rule)}</code>
      </p>
      {errors.rule && (
        <p className="field__error" id="rule-error">
          {errors.rule}
        </p>
      )}
    </fieldset>
  );
}
