// Settings › Online requests: the public form's address and embed code, and online
// booking (working hours, travel time, notice, the services clients may book).
import { useEffect, useRef, useState, type FormEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { TextAreaField, TextField } from "../../components/Field";
import { StaleEdit, useStaleEdit } from "../../components/StaleEdit";
import { changedFields, type FieldSpec } from "../../components/staleDiff";
import { ErrorState, FormError, Spinner } from "../../components/States";
import { fetchRequestFormSettings, putRequestFormSettings, requestFormKey, useCatalog, useRequestFormSettings, type RequestFormSettings } from "./api";
import { useSave } from "./useSave";

const days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

export function RequestFormSection({ canEdit }: { canEdit: boolean }) {
  const settings = useRequestFormSettings();
  if (settings.isPending) return <Spinner label="Loading the request form settings" />;
  if (settings.isError) return <ErrorState error={settings.error} onRetry={() => void settings.refetch()} />;
  return <RequestFormEditor settings={settings.data} canEdit={canEdit} />;
}

/** The `<iframe>` and the script that inserts it, for the business's website. */
export function embedCode(origin: string, slug: string): { url: string; iframe: string; script: string } {
  const url = `${origin}/request/${slug}`;
  const iframe = `<iframe src="${url}" title="Request service" style="width:100%;min-height:900px;border:0" loading="lazy"></iframe>`;
  const script =
    `<script>(function(s){var f=document.createElement("iframe");f.src=${JSON.stringify(url)};` +
    `f.title="Request service";f.loading="lazy";f.style.cssText="width:100%;min-height:900px;border:0";` +
    `s.parentNode.insertBefore(f,s);})(document.currentScript);</script>`;
  return { url, iframe, script };
}

const requestFields: FieldSpec[] = [
  { key: "enabled", label: "Accept requests" },
  { key: "slug", label: "Address" },
  { key: "booking_enabled", label: "Online booking" },
  { key: "hours", label: "Working hours" },
  { key: "travel_buffer_minutes", label: "Travel time (minutes)" },
  { key: "notice_hours", label: "Notice (hours)" },
  { key: "bookable", label: "Bookable services" },
];

function RequestFormEditor({ settings, canEdit }: { settings: RequestFormSettings; canEdit: boolean }) {
  const initial = (s: RequestFormSettings = settings) => ({
    slug: s.slug,
    enabled: s.enabled,
    booking_enabled: s.booking_enabled,
    hours: days.map((_, i) => {
      const h = s.working_hours.find((w) => w.day === i + 1);
      return { on: Boolean(h), start: h?.start ?? "08:00", end: h?.end ?? "17:00" };
    }),
    travel_buffer_minutes: String(s.travel_buffer_minutes),
    notice_hours: String(s.notice_hours),
    bookable: Object.fromEntries(s.bookable_services.map((b) => [b.catalog_item_id, String(b.duration_minutes)])) as Record<string, string>,
  });
  // The form as a stale save lists it: switches, hours and services as words.
  const shownOf = (f: ReturnType<typeof initial>) => ({
    ...f,
    enabled: f.enabled ? "On" : "Off",
    booking_enabled: f.booking_enabled ? "On" : "Off",
    hours: f.hours.flatMap((h, i) => (h.on ? [`${days[i]} ${h.start}–${h.end}`] : [])),
    bookable: Object.entries(f.bookable).map(([id, minutes]) => `${services.find((s) => s.id === id)?.name ?? "A service"} (${minutes} min)`),
  });
  const [form, setForm] = useState(initial);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(() => setForm(initial()), [settings.version]);
  const save = useSave();
  const queryClient = useQueryClient();
  const catalog = useCatalog("");
  const services = (catalog.data?.items ?? []).filter((i) => i.kind === "service" && i.active);
  const formRef = useRef<HTMLFormElement>(null);
  useEffect(() => {
    if (Object.keys(save.fields).length > 0) formRef.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
  }, [save.fields]);
  const code = embedCode(globalThis.location?.origin ?? "", settings.slug);
  const { stale, catchStale, clear } = useStaleEdit(fetchRequestFormSettings);

  async function submit(event: FormEvent) {
    event.preventDefault();
    await send(settings);
  }

  /** Save, based on `against` (the settings read, or theirs after a conflict). */
  async function send(against: RequestFormSettings) {
    const saved = await save.run(() =>
      putRequestFormSettings({
        slug: form.slug.trim(),
        enabled: form.enabled,
        booking_enabled: form.booking_enabled,
        working_hours: form.hours.flatMap((h, i) => (h.on ? [{ day: i + 1, start: h.start, end: h.end }] : [])),
        travel_buffer_minutes: Number(form.travel_buffer_minutes),
        notice_hours: Number(form.notice_hours),
        bookable_services: Object.entries(form.bookable).map(([id, minutes]) => ({ catalog_item_id: id, duration_minutes: Number(minutes) })),
        version: against.version,
      }),
      catchStale,
    );
    if (saved) queryClient.setQueryData(requestFormKey, saved);
  }

  async function reload() {
    await queryClient.invalidateQueries({ queryKey: requestFormKey });
    save.reset();
    setForm(initial());
  }

  const fieldError = (prefix: string) => Object.entries(save.fields).find(([k]) => k.startsWith(prefix))?.[1];

  return (
    <form className="form settings-form" onSubmit={submit} noValidate ref={formRef} aria-labelledby="request-form-h">
      <h2 id="request-form-h">Online requests and booking</h2>
      <p className="muted">Clients send you work requests, or book a visit, from a form on your website. Requests land in Requests.</p>
      {!canEdit && <p className="notice notice--info">Only owners and admins can change these settings.</p>}
      {stale && (
        <StaleEdit
          stale={stale}
          what="request form"
          changes={stale.theirs && changedFields(requestFields, shownOf(initial()), shownOf(initial(stale.theirs)), shownOf(form))}
          busy={save.busy}
          onReload={(theirs) => {
            // The form follows the saved version (the effect above fills it again).
            queryClient.setQueryData(requestFormKey, theirs);
            clear();
          }}
          onOverwrite={(theirs) => {
            clear();
            void send(theirs);
          }}
        />
      )}
      <FormError message={save.error} />
      {save.conflict && (
        <p>
          <button type="button" className="button" onClick={() => void reload()}>
            Reload the latest settings
          </button>
        </p>
      )}
      <fieldset disabled={!canEdit || save.busy}>
        <legend className="visually-hidden">Online requests and booking</legend>
        <label className="check">
          <input type="checkbox" checked={form.enabled} onChange={(e) => setForm((f) => ({ ...f, enabled: e.target.checked }))} />
          Accept requests from the public form
        </label>
        <TextField
          label="Form address"
          value={form.slug}
          error={save.fields.slug}
          onChange={(e) => setForm((f) => ({ ...f, slug: e.target.value }))}
          hint={
            <>
              Your form is at{" "}
              <a href={code.url} target="_blank" rel="noreferrer">
                {code.url}
              </a>
              . Lower-case letters, digits and dashes.
            </>
          }
        />
        <TextAreaField label="Embed on your website (script)" rows={4} readOnly value={code.script} hint="Paste where the form should appear." />
        <TextAreaField label="Or embed as an iframe" readOnly value={code.iframe} />

        <h3>Online booking</h3>
        <label className="check">
          <input type="checkbox" checked={form.booking_enabled} onChange={(e) => setForm((f) => ({ ...f, booking_enabled: e.target.checked }))} />
          Let clients book the services below online
        </label>
        <fieldset className="checks">
          <legend>Working hours (your time zone)</legend>
          {form.hours.map((h, i) => (
            <div className="form__row" key={days[i]}>
              <label className="check">
                <input
                  type="checkbox"
                  checked={h.on}
                  onChange={(e) => setForm((f) => ({ ...f, hours: f.hours.map((x, j) => (j === i ? { ...x, on: e.target.checked } : x)) }))}
                />
                {days[i]}
              </label>
              <TextField
                label={`${days[i]} from`}
                type="time"
                value={h.start}
                disabled={!h.on}
                onChange={(e) => setForm((f) => ({ ...f, hours: f.hours.map((x, j) => (j === i ? { ...x, start: e.target.value } : x)) }))}
              />
              <TextField
                label={`${days[i]} until`}
                type="time"
                value={h.end}
                disabled={!h.on}
                onChange={(e) => setForm((f) => ({ ...f, hours: f.hours.map((x, j) => (j === i ? { ...x, end: e.target.value } : x)) }))}
              />
            </div>
          ))}
          {fieldError("working_hours") && <p className="field__error">{fieldError("working_hours")}</p>}
        </fieldset>
        <div className="form__row">
          <TextField
            label="Travel time between visits (minutes)"
            type="number"
            min={0}
            max={480}
            inputMode="numeric"
            value={form.travel_buffer_minutes}
            error={save.fields.travel_buffer_minutes}
            onChange={(e) => setForm((f) => ({ ...f, travel_buffer_minutes: e.target.value }))}
          />
          <TextField
            label="Notice needed (hours)"
            type="number"
            min={0}
            max={720}
            inputMode="numeric"
            value={form.notice_hours}
            error={save.fields.notice_hours}
            onChange={(e) => setForm((f) => ({ ...f, notice_hours: e.target.value }))}
          />
        </div>
        <fieldset className="checks">
          <legend>Services clients can book</legend>
          {services.length === 0 && <p className="muted">Add services under Products and services first.</p>}
          {services.map((s) => {
            const minutes = form.bookable[s.id];
            return (
              <div className="form__row" key={s.id}>
                <label className="check">
                  <input
                    type="checkbox"
                    checked={minutes !== undefined}
                    onChange={(e) =>
                      setForm((f) => {
                        const bookable = { ...f.bookable };
                        if (e.target.checked) bookable[s.id] = "60";
                        else delete bookable[s.id];
                        return { ...f, bookable };
                      })
                    }
                  />
                  {s.name}
                </label>
                {minutes !== undefined && (
                  <TextField
                    label={`${s.name}: minutes`}
                    type="number"
                    min={15}
                    max={720}
                    inputMode="numeric"
                    value={minutes}
                    onChange={(e) => setForm((f) => ({ ...f, bookable: { ...f.bookable, [s.id]: e.target.value } }))}
                  />
                )}
              </div>
            );
          })}
          {fieldError("bookable_services") && <p className="field__error">{fieldError("bookable_services")}</p>}
        </fieldset>
      </fieldset>
      {canEdit && (
        <div className="form__actions">
          <button type="submit" className="button button--primary" disabled={save.busy || stale !== null}>
            {save.busy ? "Saving…" : "Save changes"}
          </button>
          <span role="status" className="save-status">
            {save.saved ? "Saved." : ""}
          </span>
        </div>
      )}
    </form>
  );
}
