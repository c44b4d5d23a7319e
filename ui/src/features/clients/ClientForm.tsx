import { useEffect, useRef, useState, type FormEvent } from "react";
import { ApiProblem, describeError } from "../../api/problem";
import { SelectField, TextAreaField, TextField } from "../../components/Field";
import { StaleEdit, useStaleEdit } from "../../components/StaleEdit";
import { changedFields, type FieldSpec } from "../../components/staleDiff";
import { FormError } from "../../components/States";
import { clientStatuses, fetchClient, type Client, type ClientInput, type ClientStatus } from "./api";

interface FormState {
  first_name: string;
  last_name: string;
  company_name: string;
  email: string;
  phone: string;
  street1: string;
  street2: string;
  city: string;
  region: string;
  postal_code: string;
  country: string;
  tags: string;
  notes: string;
  status: ClientStatus;
}

function fromClient(client?: Client): FormState {
  const email = client?.emails.find((e) => e.primary) ?? client?.emails[0];
  const phone = client?.phones.find((p) => p.primary) ?? client?.phones[0];
  const a = client?.billing_address;
  return {
    first_name: client?.first_name ?? "",
    last_name: client?.last_name ?? "",
    company_name: client?.company_name ?? "",
    email: email?.address ?? "",
    phone: phone?.number ?? "",
    street1: a?.street1 ?? "",
    street2: a?.street2 ?? "",
    city: a?.city ?? "",
    region: a?.region ?? "",
    postal_code: a?.postal_code ?? "",
    country: a?.country ?? "",
    tags: client?.tags.join(", ") ?? "",
    notes: client?.notes ?? "",
    status: client?.status ?? "active",
  };
}

/** The form's fields as a stale edit lists them (labels as on the form). */
export const clientFields: FieldSpec[] = [
  { key: "first_name", label: "First name" },
  { key: "last_name", label: "Last name" },
  { key: "company_name", label: "Company" },
  { key: "email", label: "Email" },
  { key: "phone", label: "Phone" },
  { key: "street1", label: "Street" },
  { key: "street2", label: "Apartment, suite" },
  { key: "city", label: "City" },
  { key: "region", label: "State / province" },
  { key: "postal_code", label: "Postal code" },
  { key: "country", label: "Country" },
  { key: "status", label: "Status" },
  { key: "tags", label: "Tags" },
  { key: "notes", label: "Notes" },
];

/** The fields someone else changed since the form was filled from `base`. */
export function clientChanges(base: Client | undefined, theirs: Client, form: FormState) {
  return changedFields(clientFields, fromClient(base), fromClient(theirs), form);
}

const blank = (s: string) => (s.trim() === "" ? null : s.trim());

/** The request body: the primary email and phone edited here, the others kept as they are. */
export function toInput(form: FormState, client?: Client): ClientInput {
  const otherEmails = (client?.emails ?? []).filter((e) => !e.primary).slice(client?.emails.some((e) => e.primary) ? 0 : 1);
  const otherPhones = (client?.phones ?? []).filter((p) => !p.primary).slice(client?.phones.some((p) => p.primary) ? 0 : 1);
  const primaryEmail = client?.emails.find((e) => e.primary) ?? client?.emails[0];
  const primaryPhone = client?.phones.find((p) => p.primary) ?? client?.phones[0];
  return {
    first_name: blank(form.first_name),
    last_name: blank(form.last_name),
    company_name: blank(form.company_name),
    emails: [
      ...(form.email.trim() ? [{ address: form.email.trim(), label: primaryEmail?.label ?? null, primary: true }] : []),
      ...otherEmails.map((e) => ({ address: e.address, label: e.label ?? null, primary: false })),
    ],
    phones: [
      ...(form.phone.trim()
        ? [{ number: form.phone.trim(), label: primaryPhone?.label ?? null, primary: true, sms_opt_in: primaryPhone?.sms_opt_in ?? false }]
        : []),
      ...otherPhones.map((p) => ({ number: p.number, label: p.label ?? null, primary: false, sms_opt_in: p.sms_opt_in })),
    ],
    billing_address: {
      street1: blank(form.street1),
      street2: blank(form.street2),
      city: blank(form.city),
      region: blank(form.region),
      postal_code: blank(form.postal_code),
      country: blank(form.country),
    },
    tags: form.tags.split(",").map((t) => t.trim()).filter(Boolean),
    notes: blank(form.notes),
    status: form.status,
    version: client?.version ?? null,
  };
}

/** Which input shows a server error on `field` (`emails[0].address` -> the email box). */
function inputFor(field: string): keyof FormState | undefined {
  if (field.startsWith("emails")) return "email";
  if (field.startsWith("phones")) return "phone";
  if (field.startsWith("tags")) return "tags";
  if (field.startsWith("billing_address.")) {
    const part = field.slice("billing_address.".length);
    return (["street1", "street2", "city", "region", "postal_code", "country"] as const).find((k) => k === part) ?? "street1";
  }
  const direct = ["first_name", "last_name", "company_name", "notes", "status"] as const;
  return direct.find((k) => k === field);
}

export function ClientForm({
  client,
  onSubmit,
  onCancel,
  submitLabel,
}: {
  client?: Client;
  onSubmit: (input: ClientInput) => Promise<unknown>;
  onCancel?: () => void;
  submitLabel: string;
}) {
  // The record the form was filled from: its version is the one a save is based on.
  // A refetch of the client (another tab, the live connection) does not replace it:
  // only "Reload theirs" after a conflict does.
  const [base, setBase] = useState(client);
  const [form, setForm] = useState<FormState>(() => fromClient(client));
  const [errors, setErrors] = useState<Partial<Record<keyof FormState, string>>>({});
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const { stale, catchStale, clear } = useStaleEdit(() => fetchClient(base?.id ?? ""));
  const formRef = useRef<HTMLFormElement>(null);

  // After a refusal, take the person to the first field at fault.
  useEffect(() => {
    if (Object.keys(errors).length > 0) formRef.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
  }, [errors]);

  const bind = (key: keyof FormState) => ({
    name: key,
    value: form[key],
    error: errors[key],
    onChange: (e: { target: { value: string } }) => setForm((f) => ({ ...f, [key]: e.target.value })),
  });

  async function submit(event: FormEvent) {
    event.preventDefault();
    await save(base);
  }

  /** Send the form, based on `against` (the record read, or theirs after a conflict). */
  async function save(against: Client | undefined) {
    setBusy(true);
    setError(undefined);
    setErrors({});
    try {
      await onSubmit(toInput(form, against));
      clear();
    } catch (e) {
      if (e instanceof ApiProblem && e.errors.length > 0) {
        const next: Partial<Record<keyof FormState, string>> = {};
        const unplaced: string[] = [];
        for (const { field, message } of e.errors) {
          const key = inputFor(field);
          if (key && !next[key]) next[key] = message.charAt(0).toUpperCase() + message.slice(1);
          else if (!key) unplaced.push(`${field}: ${message}`);
        }
        setErrors(next);
        setError(["Please correct the fields marked below.", ...unplaced].join(" "));
      } else if (base && catchStale(e)) {
        // StaleEdit says who changed what and offers the two ways on.
      } else {
        setError(describeError(e));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form" onSubmit={submit} noValidate ref={formRef}>
      {stale && (
        <StaleEdit
          stale={stale}
          what="client"
          changes={stale.theirs && clientChanges(base, stale.theirs, form)}
          busy={busy}
          onReload={(theirs) => {
            setBase(theirs);
            setForm(fromClient(theirs));
            setErrors({});
            clear();
          }}
          onOverwrite={(theirs) => {
            clear();
            setBase(theirs);
            void save(theirs);
          }}
        />
      )}
      <FormError message={error} />
      <fieldset>
        <legend>Name</legend>
        <div className="form__row">
          <TextField label="First name" autoComplete="off" autoFocus {...bind("first_name")} />
          <TextField label="Last name" autoComplete="off" {...bind("last_name")} />
        </div>
        <TextField label="Company" autoComplete="off" hint="A person's name or a company name is enough." {...bind("company_name")} />
      </fieldset>
      <fieldset>
        <legend>Contact</legend>
        <div className="form__row">
          <TextField label="Email" type="email" autoComplete="off" {...bind("email")} />
          <TextField label="Phone" type="tel" autoComplete="off" {...bind("phone")} />
        </div>
      </fieldset>
      <fieldset>
        <legend>Billing address</legend>
        <TextField label="Street" autoComplete="off" {...bind("street1")} />
        <TextField label="Apartment, suite (optional)" autoComplete="off" {...bind("street2")} />
        <div className="form__row form__row--3">
          <TextField label="City" autoComplete="off" {...bind("city")} />
          <TextField label="State / province" autoComplete="off" {...bind("region")} />
          <TextField label="Postal code" autoComplete="off" {...bind("postal_code")} />
        </div>
        <TextField label="Country" autoComplete="off" hint="Two-letter code, e.g. US." {...bind("country")} />
      </fieldset>
      <fieldset>
        <legend>More</legend>
        <div className="form__row">
          <SelectField label="Status" {...bind("status")}>
            {clientStatuses.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </SelectField>
          <TextField label="Tags" hint="Separate tags with commas." {...bind("tags")} />
        </div>
        <TextAreaField label="Notes" rows={4} {...bind("notes")} />
      </fieldset>
      <div className="form__actions">
        <button type="submit" className="button button--primary" disabled={busy || stale !== null}>
          {busy ? "Saving…" : submitLabel}
        </button>
        {onCancel && (
          <button type="button" className="button" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
