// The sections of GET/PATCH /settings: business details, branding, region, reminders.
// Each is its own form sending only its fields with the version it read.
import { useEffect, useRef, useState, type FormEvent, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { sessionKey } from "../../api/session";
import { SelectField, TextField } from "../../components/Field";
import { StaleEdit, useStaleEdit } from "../../components/StaleEdit";
import { changedFields, type FieldSpec } from "../../components/staleDiff";
import { ErrorState, FormError, Spinner } from "../../components/States";
import { deleteLogo, fetchSettings, patchSettings, settingsKey, uploadLogo, useSettings, type PaymentTerms, type Settings, type SettingsPatch } from "./api";
import { useSave } from "./useSave";

/** Loads the settings, then renders the section with them. */
export function WithSettings({ children }: { children: (settings: Settings) => ReactNode }) {
  const settings = useSettings();
  if (settings.isPending) return <Spinner label="Loading settings" />;
  if (settings.isError) return <ErrorState error={settings.error} onRetry={() => void settings.refetch()} />;
  return <>{children(settings.data)}</>;
}

/** A section form: read-only unless the person may edit; saves a patch with the version read. */
function SectionForm({
  title,
  description,
  canEdit,
  settings,
  patch,
  onReset,
  children,
  save,
  compare,
}: {
  title: string;
  description?: string;
  canEdit: boolean;
  settings: Settings;
  patch: () => SettingsPatch;
  onReset: () => void;
  children: ReactNode;
  save: ReturnType<typeof useSave>;
  /** The section's fields as a stale save lists them: their values in saved settings, and in the form. */
  compare?: { fields: FieldSpec[]; of: (settings: Settings) => object; form: object };
}) {
  const queryClient = useQueryClient();
  const formRef = useRef<HTMLFormElement>(null);
  const { stale, catchStale, clear } = useStaleEdit(fetchSettings);
  useEffect(() => {
    if (Object.keys(save.fields).length > 0) formRef.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
  }, [save.fields]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    await send(settings);
  }

  /** Save the section, based on `against` (the settings read, or theirs after a conflict). */
  async function send(against: Settings) {
    const saved = await save.run(() => patchSettings({ ...patch(), version: against.version }), compare ? catchStale : undefined);
    if (saved) {
      queryClient.setQueryData(settingsKey, saved);
      // The office shows the account's name, currency and zone from the session.
      void queryClient.invalidateQueries({ queryKey: sessionKey });
    }
  }

  async function reload() {
    await queryClient.invalidateQueries({ queryKey: settingsKey });
    save.reset();
    onReset();
  }

  return (
    <form className="form settings-form" onSubmit={submit} noValidate ref={formRef} aria-labelledby={`${title}-h`}>
      <h2 id={`${title}-h`}>{title}</h2>
      {description && <p className="muted">{description}</p>}
      {!canEdit && <p className="notice notice--info">Only owners and admins can change these settings.</p>}
      {stale && compare && (
        <StaleEdit
          stale={stale}
          what="setting"
          changes={stale.theirs && changedFields(compare.fields, compare.of(settings), compare.of(stale.theirs), compare.form)}
          busy={save.busy}
          onReload={(theirs) => {
            // Every section shows the saved settings again (they follow the version).
            queryClient.setQueryData(settingsKey, theirs);
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
        <legend className="visually-hidden">{title}</legend>
        {children}
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

const blank = (s: string) => (s.trim() === "" ? null : s.trim());

const businessFields: FieldSpec[] = [
  { key: "business_name", label: "Business name" },
  { key: "phone", label: "Phone" },
  { key: "email", label: "Email" },
  { key: "website", label: "Website" },
  { key: "street1", label: "Street" },
  { key: "street2", label: "Apartment, suite" },
  { key: "city", label: "City" },
  { key: "region", label: "State / province" },
  { key: "postal_code", label: "Postal code" },
  { key: "country", label: "Country" },
];

export function BusinessDetails({ settings, canEdit }: { settings: Settings; canEdit: boolean }) {
  const initial = (s: Settings = settings) => ({
    business_name: s.business_name,
    phone: s.phone ?? "",
    email: s.email ?? "",
    website: s.website ?? "",
    street1: s.address.street1 ?? "",
    street2: s.address.street2 ?? "",
    city: s.address.city ?? "",
    region: s.address.region ?? "",
    postal_code: s.address.postal_code ?? "",
    country: s.address.country ?? "",
  });
  const [form, setForm] = useState(initial);
  // A save (ours or, after a conflict, theirs) brings a new version: show it.
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(() => setForm(initial()), [settings.version]);
  const save = useSave();
  const bind = (key: keyof ReturnType<typeof initial>, errorKey: string = key) => ({
    name: key,
    value: form[key],
    error: save.fields[errorKey],
    onChange: (e: { target: { value: string } }) => setForm((f) => ({ ...f, [key]: e.target.value })),
  });
  return (
    <SectionForm
      title="Business details"
      description="Shown on quotes, invoices and emails to your clients."
      canEdit={canEdit}
      settings={settings}
      save={save}
      compare={{ fields: businessFields, of: initial, form }}
      onReset={() => setForm(initial())}
      patch={() => ({
        business_name: form.business_name.trim(),
        phone: blank(form.phone),
        email: blank(form.email),
        website: blank(form.website),
        address: {
          street1: blank(form.street1),
          street2: blank(form.street2),
          city: blank(form.city),
          region: blank(form.region),
          postal_code: blank(form.postal_code),
          country: blank(form.country),
        },
      })}
    >
      <TextField label="Business name" autoComplete="organization" {...bind("business_name")} />
      <div className="form__row">
        <TextField label="Phone" type="tel" autoComplete="tel" {...bind("phone")} />
        <TextField label="Email" type="email" autoComplete="email" hint="Clients' replies go here." {...bind("email")} />
      </div>
      <TextField label="Website" type="url" autoComplete="url" {...bind("website")} />
      <TextField label="Street" autoComplete="address-line1" {...bind("street1", "address.street1")} />
      <TextField label="Apartment, suite (optional)" autoComplete="address-line2" {...bind("street2", "address.street2")} />
      <div className="form__row form__row--3">
        <TextField label="City" autoComplete="address-level2" {...bind("city", "address.city")} />
        <TextField label="State / province" autoComplete="address-level1" {...bind("region", "address.region")} />
        <TextField label="Postal code" autoComplete="postal-code" {...bind("postal_code", "address.postal_code")} />
      </div>
      <TextField label="Country" autoComplete="country" hint="Two-letter code, e.g. US." {...bind("country", "address.country")} />
    </SectionForm>
  );
}

const supported = (kind: string): string[] => {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  try {
    return intl.supportedValuesOf?.(kind) ?? [];
  } catch {
    return [];
  }
};

const commonCurrencies = ["USD", "CAD", "EUR", "GBP", "AUD", "NZD", "MXN", "CHF", "SEK", "NOK", "DKK", "ZAR", "JPY"];
const locales = ["en-US", "en-CA", "en-GB", "en-AU", "en-NZ", "en-IE", "fr-CA", "fr-FR", "es-US", "es-MX", "es-ES", "de-DE", "nl-NL", "it-IT", "pt-BR"];
const terms: { value: PaymentTerms; label: string }[] = [
  { value: "due_on_receipt", label: "Due on receipt" },
  { value: "net_7", label: "Net 7" },
  { value: "net_15", label: "Net 15" },
  { value: "net_30", label: "Net 30" },
  { value: "net_60", label: "Net 60" },
];

function withCurrent(list: string[], current: string): string[] {
  return list.includes(current) ? list : [current, ...list];
}

const regionalFields: FieldSpec[] = [
  { key: "time_zone", label: "Time zone" },
  { key: "currency", label: "Currency" },
  { key: "locale", label: "Number and date format" },
  { key: "payment_terms", label: "Default payment terms" },
  { key: "quote_validity_days", label: "Quotes valid for (days)" },
];

export function Regional({ settings, canEdit }: { settings: Settings; canEdit: boolean }) {
  const initial = (s: Settings = settings) => ({
    time_zone: s.time_zone,
    currency: s.currency,
    locale: s.locale,
    payment_terms: s.payment_terms,
    quote_validity_days: String(s.quote_validity_days),
  });
  const [form, setForm] = useState(initial);
  // A save (ours or, after a conflict, theirs) brings a new version: show it.
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(() => setForm(initial()), [settings.version]);
  const save = useSave();
  const zones = withCurrent(supported("timeZone"), settings.time_zone);
  const currencies = withCurrent(commonCurrencies, settings.currency);
  const bind = (key: keyof ReturnType<typeof initial>) => ({
    name: key,
    value: form[key],
    error: save.fields[key],
    onChange: (e: { target: { value: string } }) => setForm((f) => ({ ...f, [key]: e.target.value })),
  });
  const example = (() => {
    try {
      return new Intl.NumberFormat(form.locale, { style: "currency", currency: form.currency }).format(1234.5) +
        " · " +
        new Intl.DateTimeFormat(form.locale, { dateStyle: "medium", timeStyle: "short", timeZone: form.time_zone }).format(new Date());
    } catch {
      return "";
    }
  })();
  return (
    <SectionForm
      title="Time zone, currency and language"
      description="Schedules, reminders and reports follow the business's time zone."
      canEdit={canEdit}
      settings={settings}
      save={save}
      compare={{ fields: regionalFields, of: initial, form }}
      onReset={() => setForm(initial())}
      patch={() => ({
        time_zone: form.time_zone,
        currency: form.currency,
        locale: form.locale,
        payment_terms: form.payment_terms,
        quote_validity_days: Number(form.quote_validity_days),
      })}
    >
      <SelectField label="Time zone" {...bind("time_zone")}>
        {zones.map((z) => (
          <option key={z} value={z}>
            {z.replace(/_/g, " ")}
          </option>
        ))}
      </SelectField>
      <div className="form__row">
        <SelectField label="Currency" hint="Can change only until the first quote, job or invoice." {...bind("currency")}>
          {currencies.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </SelectField>
        <SelectField label="Number and date format" {...bind("locale")}>
          {withCurrent(locales, settings.locale).map((l) => (
            <option key={l} value={l}>
              {l}
            </option>
          ))}
        </SelectField>
      </div>
      {example && <p className="muted">Example: {example}</p>}
      <div className="form__row">
        <SelectField label="Default payment terms" {...bind("payment_terms")}>
          {terms.map((t) => (
            <option key={t.value} value={t.value}>
              {t.label}
            </option>
          ))}
        </SelectField>
        <TextField label="Quotes valid for (days)" type="number" min={1} inputMode="numeric" {...bind("quote_validity_days")} />
      </div>
    </SectionForm>
  );
}

const reminderFields: FieldSpec[] = [
  { key: "visit_reminders", label: "Visit reminders" },
  { key: "visit_reminder_hours_before", label: "Hours before the visit" },
  { key: "invoice_followups", label: "Overdue invoice follow-ups" },
  { key: "invoice_followup_days", label: "Days after the due date" },
];

export function Reminders({ settings, canEdit }: { settings: Settings; canEdit: boolean }) {
  const initial = (s: Settings = settings) => ({
    visit_reminders: s.visit_reminders,
    visit_reminder_hours_before: String(s.visit_reminder_hours_before),
    invoice_followups: s.invoice_followups,
    invoice_followup_days: s.invoice_followup_days.join(", "),
  });
  // The switches as a person reads them in a stale save's list.
  const shownOf = (v: ReturnType<typeof initial>) => ({ ...v, visit_reminders: v.visit_reminders ? "On" : "Off", invoice_followups: v.invoice_followups ? "On" : "Off" });
  const [form, setForm] = useState(initial);
  // A save (ours or, after a conflict, theirs) brings a new version: show it.
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(() => setForm(initial()), [settings.version]);
  const save = useSave();
  return (
    <SectionForm
      title="Reminders"
      description="Automatic messages to clients before their visits and after an invoice is due."
      canEdit={canEdit}
      settings={settings}
      save={save}
      compare={{ fields: reminderFields, of: (s) => shownOf(initial(s)), form: shownOf(form) }}
      onReset={() => setForm(initial())}
      patch={() => ({
        visit_reminders: form.visit_reminders,
        visit_reminder_hours_before: Number(form.visit_reminder_hours_before),
        invoice_followups: form.invoice_followups,
        invoice_followup_days: form.invoice_followup_days
          .split(/[,\s]+/)
          .filter(Boolean)
          .map(Number),
      })}
    >
      <label className="check">
        <input
          type="checkbox"
          checked={form.visit_reminders}
          onChange={(e) => setForm((f) => ({ ...f, visit_reminders: e.target.checked }))}
        />
        Remind clients of their visits (email, and a text when they agreed to texts)
      </label>
      <TextField
        label="Hours before the visit"
        type="number"
        min={1}
        max={168}
        inputMode="numeric"
        value={form.visit_reminder_hours_before}
        error={save.fields.visit_reminder_hours_before}
        onChange={(e) => setForm((f) => ({ ...f, visit_reminder_hours_before: e.target.value }))}
        hint="1 to 168; 24 is the day before."
      />
      <label className="check">
        <input
          type="checkbox"
          checked={form.invoice_followups}
          onChange={(e) => setForm((f) => ({ ...f, invoice_followups: e.target.checked }))}
        />
        Email clients about overdue invoices
      </label>
      <TextField
        label="Days after the due date"
        value={form.invoice_followup_days}
        error={save.fields.invoice_followup_days ?? Object.entries(save.fields).find(([k]) => k.startsWith("invoice_followup_days"))?.[1]}
        onChange={(e) => setForm((f) => ({ ...f, invoice_followup_days: e.target.value }))}
        hint="Separate the days with commas, e.g. 3, 7, 14."
      />
    </SectionForm>
  );
}

/** The logo as the API serves it (a redirect to a signed address), refreshed after a change. */
function logoSrc(settings: Settings): string | null {
  if (!settings.logo_key) return null;
  return `/api/v1/settings/logo?v=${encodeURIComponent(settings.logo_key)}`;
}

export function Branding({ settings, canEdit }: { settings: Settings; canEdit: boolean }) {
  const queryClient = useQueryClient();
  const [color, setColor] = useState(settings.brand_color);
  useEffect(() => setColor(settings.brand_color), [settings.brand_color, settings.version]);
  const upload = useSave();
  const save = useSave();
  const fileRef = useRef<HTMLInputElement>(null);
  const src = logoSrc(settings);

  async function onFile(file: File | undefined) {
    if (!file) return;
    const saved = await upload.run(() => uploadLogo(file));
    if (saved) queryClient.setQueryData(settingsKey, saved);
    if (fileRef.current) fileRef.current.value = "";
  }

  async function removeLogo() {
    const saved = await upload.run(() => deleteLogo());
    if (saved) queryClient.setQueryData(settingsKey, saved);
  }

  return (
    <>
      <section className="form settings-form" aria-labelledby="logo-h">
        <h2 id="logo-h">Logo</h2>
        <p className="muted">Printed on quotes and invoices and shown in client emails. A JPEG or PNG of up to 2 MB.</p>
        <div className="logo-row">
          <div className="logo-preview">
            {src ? <img src={src} alt={`${settings.business_name} logo`} /> : <span className="muted">No logo yet</span>}
          </div>
          {canEdit && (
            <div className="logo-actions">
              <label className="button">
                {upload.busy ? "Uploading…" : src ? "Replace logo" : "Upload logo"}
                <input
                  ref={fileRef}
                  type="file"
                  accept="image/png,image/jpeg"
                  className="visually-hidden"
                  aria-describedby="logo-status"
                  onChange={(e) => void onFile(e.target.files?.[0])}
                  disabled={upload.busy}
                />
              </label>
              {src && (
                <button type="button" className="button" onClick={() => void removeLogo()} disabled={upload.busy}>
                  Remove
                </button>
              )}
            </div>
          )}
        </div>
        <p id="logo-status" role="status" className={upload.error ? "field__error" : "save-status"}>
          {upload.error ? (upload.fields.file ?? upload.error) : upload.saved ? "Logo saved." : ""}
        </p>
      </section>
      <SectionForm
        title="Brand colour"
        description="The accent colour of your emails to clients."
        canEdit={canEdit}
        settings={settings}
        save={save}
        onReset={() => setColor(settings.brand_color)}
        patch={() => ({ brand_color: color })}
      >
        <div className="color-row">
          <input
            type="color"
            aria-label="Pick a colour"
            value={/^#[0-9a-fA-F]{6}$/.test(color) ? color : "#000000"}
            onChange={(e) => setColor(e.target.value.toUpperCase())}
          />
          <TextField label="Colour (#RRGGBB)" value={color} error={save.fields.brand_color} onChange={(e) => setColor(e.target.value)} />
          <span className="color-sample" style={{ background: /^#[0-9a-fA-F]{6}$/.test(color) ? color : "transparent" }} aria-hidden="true">
            Aa
          </span>
        </div>
      </SectionForm>
    </>
  );
}
