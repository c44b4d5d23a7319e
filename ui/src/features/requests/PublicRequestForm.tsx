// /request/:slug — the business's public request form, no sign-in. It is made to be
// embedded in the business's website (an iframe; the server lets only this page be
// framed), so it carries no office chrome and fits a phone.
import { useEffect, useRef, useState, type FormEvent } from "react";
import { useParams } from "react-router";
import { ApiProblem, describeError } from "../../api/problem";
import { SelectField, TextAreaField, TextField } from "../../components/Field";
import { ErrorState, FormError, Spinner } from "../../components/States";
import { book, sendRequest, TakenError, usePublicForm, useSlots, type BookingSlot, type PublicForm } from "./api";
import "./requests.css";

export function PublicRequestForm() {
  const { slug = "" } = useParams();
  const form = usePublicForm(slug);
  useEffect(() => {
    if (form.data) document.title = `Request service · ${form.data.business_name}`;
  }, [form.data]);
  return (
    <main className="public-form" id="main">
      {form.isPending ? (
        <Spinner label="Loading the form" />
      ) : form.isError ? (
        form.error instanceof ApiProblem && form.error.status === 404 ? (
          <>
            <h1>This form is not available</h1>
            <p>Check the link, or contact the business directly.</p>
          </>
        ) : (
          <ErrorState error={form.error} onRetry={() => void form.refetch()} />
        )
      ) : (
        <RequestForm slug={slug} form={form.data} />
      )}
    </main>
  );
}

interface Contact {
  name: string;
  email: string;
  phone: string;
  street1: string;
  city: string;
  region: string;
  postal_code: string;
  details: string;
  preferred_times: string;
  service_id: string;
  website: string;
}

const empty: Contact = {
  name: "",
  email: "",
  phone: "",
  street1: "",
  city: "",
  region: "",
  postal_code: "",
  details: "",
  preferred_times: "",
  service_id: "",
  website: "",
};

function zoned(timeZone: string) {
  const day = new Intl.DateTimeFormat(undefined, { timeZone, weekday: "long", month: "long", day: "numeric" });
  const time = new Intl.DateTimeFormat(undefined, { timeZone, hour: "numeric", minute: "2-digit" });
  return { day: (iso: string) => day.format(new Date(iso)), time: (iso: string) => time.format(new Date(iso)) };
}

function RequestForm({ slug, form }: { slug: string; form: PublicForm }) {
  const [mode, setMode] = useState<"request" | "book">("request");
  const [values, setValues] = useState<Contact>(empty);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string>();
  const [slot, setSlot] = useState<string>();
  const [fresh, setFresh] = useState<BookingSlot[]>();
  const formRef = useRef<HTMLFormElement>(null);
  const doneRef = useRef<HTMLHeadingElement>(null);
  const bookable = form.services.filter((s) => s.duration_minutes != null);
  const bookService = mode === "book" ? values.service_id || bookable[0]?.id : undefined;
  const slots = useSlots(slug, bookService);
  const fmt = zoned(form.time_zone);

  useEffect(() => {
    if (Object.keys(fields).length > 0) formRef.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
  }, [fields]);
  useEffect(() => {
    if (done) doneRef.current?.focus();
  }, [done]);

  const set = (key: keyof Contact) => (e: { target: { value: string } }) => setValues((v) => ({ ...v, [key]: e.target.value }));
  const text = (value: string) => value.trim() || undefined;
  const address = {
    street1: text(values.street1),
    city: text(values.city),
    region: text(values.region),
    postal_code: text(values.postal_code),
  };

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setFields({});
    try {
      if (mode === "request") {
        await sendRequest(slug, {
          name: values.name,
          email: values.email,
          phone: text(values.phone),
          address,
          service_id: values.service_id || undefined,
          details: text(values.details),
          preferred_times: text(values.preferred_times),
          website: values.website || undefined,
        });
        setDone("Thank you! Your request was sent. We will be in touch soon.");
      } else {
        if (!slot || !bookService) {
          setFields({ starts_at: "Pick a time" });
          return;
        }
        const made = await book(slug, {
          service_id: bookService,
          starts_at: slot,
          name: values.name,
          email: values.email,
          phone: text(values.phone),
          address,
          details: text(values.details),
          website: values.website || undefined,
        });
        setDone(
          "starts_at" in made
            ? `You are booked: ${made.service_name}, ${fmt.day(made.starts_at)} at ${fmt.time(made.starts_at)}.`
            : "Thank you! Your booking was sent.",
        );
      }
    } catch (e) {
      if (e instanceof TakenError) {
        setFresh(e.slots);
        setSlot(undefined);
        setError(e.message);
      } else if (e instanceof ApiProblem && e.errors.length > 0) {
        setFields(e.fieldMap());
        setError("Please correct the fields marked below.");
      } else {
        setError(describeError(e));
      }
    } finally {
      setBusy(false);
    }
  }

  if (done) {
    return (
      <div className="public-form__done">
        <h1 tabIndex={-1} ref={doneRef}>
          {done}
        </h1>
        <p>{form.business_name}</p>
      </div>
    );
  }

  const offered = fresh ?? slots.data?.slots ?? [];
  const days = new Map<string, BookingSlot[]>();
  for (const s of offered) {
    const key = fmt.day(s.starts_at);
    days.set(key, [...(days.get(key) ?? []), s]);
  }

  return (
    <>
      <header className="public-form__header" style={{ ["--brand" as string]: form.brand_color }}>
        <h1>{form.business_name}</h1>
        <p className="muted">
          {mode === "book" ? "Book a visit online." : "Tell us what you need and we will get back to you."}
          {form.phone ? ` Or call ${form.phone}.` : ""}
        </p>
      </header>
      <form className="form" onSubmit={submit} noValidate ref={formRef} aria-label={mode === "book" ? "Book a visit" : "Request service"}>
        {form.booking_enabled && (
          <fieldset className="checks">
            <legend>What would you like to do?</legend>
            <label className="check">
              <input type="radio" name="mode" checked={mode === "request"} onChange={() => setMode("request")} /> Ask for a quote or a visit
            </label>
            <label className="check">
              <input type="radio" name="mode" checked={mode === "book"} onChange={() => setMode("book")} /> Book a time now
            </label>
          </fieldset>
        )}
        <FormError message={error} />
        <TextField label="Your name" autoComplete="name" required value={values.name} onChange={set("name")} error={fields.name} />
        <div className="form__row">
          <TextField label="Email" type="email" autoComplete="email" required value={values.email} onChange={set("email")} error={fields.email} />
          <TextField label="Phone" type="tel" autoComplete="tel" value={values.phone} onChange={set("phone")} error={fields.phone} />
        </div>
        <TextField
          label={mode === "book" ? "Street address" : "Street address (where the work is)"}
          autoComplete="street-address"
          required={mode === "book"}
          value={values.street1}
          onChange={set("street1")}
          error={fields["address.street1"]}
        />
        <div className="form__row">
          <TextField label="City" autoComplete="address-level2" value={values.city} onChange={set("city")} error={fields["address.city"]} />
          <TextField label="State or region" autoComplete="address-level1" value={values.region} onChange={set("region")} error={fields["address.region"]} />
          <TextField label="Postal code" autoComplete="postal-code" value={values.postal_code} onChange={set("postal_code")} error={fields["address.postal_code"]} />
        </div>
        {mode === "request" ? (
          form.services.length > 0 && (
            <SelectField label="Service" value={values.service_id} onChange={set("service_id")} error={fields.service_id}>
              <option value="">Not sure / something else</option>
              {form.services.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name}
                </option>
              ))}
            </SelectField>
          )
        ) : (
          <>
            <SelectField
              label="Service"
              value={bookService ?? ""}
              onChange={(e) => {
                setValues((v) => ({ ...v, service_id: e.target.value }));
                setSlot(undefined);
                setFresh(undefined);
              }}
              error={fields.service_id}
            >
              {bookable.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name} ({s.duration_minutes} min)
                </option>
              ))}
            </SelectField>
            <fieldset className="checks" aria-describedby={fields.starts_at ? "slot-error" : undefined}>
              <legend>Pick a time</legend>
              {fields.starts_at && (
                <p className="field__error" id="slot-error">
                  {fields.starts_at}
                </p>
              )}
              {slots.isPending && !fresh ? (
                <Spinner label="Loading free times" />
              ) : slots.isError && !fresh ? (
                <ErrorState error={slots.error} onRetry={() => void slots.refetch()} />
              ) : days.size === 0 ? (
                <p>No free times in the next two weeks. Send a request instead and we will find one.</p>
              ) : (
                <div className="slot-days">
                  {[...days.entries()].map(([day, list]) => (
                    <div className="slot-day" key={day}>
                      <h3>{day}</h3>
                      <ul className="slot-times">
                        {list.map((s) => (
                          <li key={s.starts_at}>
                            <button type="button" className="button" aria-pressed={slot === s.starts_at} onClick={() => setSlot(s.starts_at)}>
                              {fmt.time(s.starts_at)}
                            </button>
                          </li>
                        ))}
                      </ul>
                    </div>
                  ))}
                </div>
              )}
            </fieldset>
          </>
        )}
        <TextAreaField label="Details" rows={4} value={values.details} onChange={set("details")} error={fields.details} hint="What needs doing? Anything we should know?" />
        {mode === "request" && (
          <TextField
            label="Preferred days and times"
            value={values.preferred_times}
            onChange={set("preferred_times")}
            error={fields.preferred_times}
            hint="For example: weekday mornings."
          />
        )}
        <div className="public-form__trap" aria-hidden="true">
          <label htmlFor="website-trap">Leave this field empty</label>
          <input id="website-trap" name="website" tabIndex={-1} autoComplete="off" value={values.website} onChange={set("website")} />
        </div>
        <div className="form__actions">
          <button type="submit" className="button button--primary" disabled={busy}>
            {busy ? "Sending…" : mode === "book" ? "Book this time" : "Send request"}
          </button>
        </div>
      </form>
    </>
  );
}
