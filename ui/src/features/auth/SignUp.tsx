import { useState, type FormEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate } from "react-router";
import { api, unwrap } from "../../api/client";
import { ApiProblem, describeError } from "../../api/problem";
import { sessionKey, signInInstead } from "../../api/session";
import { SelectField, TextField } from "../../components/Field";
import { FormError } from "../../components/States";

const currencies = ["USD", "CAD", "EUR", "GBP", "AUD", "NZD", "CHF", "SEK", "NOK", "DKK", "MXN", "ZAR", "JPY"];

/** A currency guess from the browser's region; the person can change it. */
function guessCurrency(): string {
  const region = new Intl.Locale(navigator.language || "en-US").maximize().region;
  const byRegion: Record<string, string> = {
    US: "USD", CA: "CAD", GB: "GBP", AU: "AUD", NZ: "NZD", CH: "CHF", SE: "SEK", NO: "NOK", DK: "DKK", MX: "MXN", ZA: "ZAR", JP: "JPY",
    DE: "EUR", FR: "EUR", ES: "EUR", IT: "EUR", NL: "EUR", BE: "EUR", AT: "EUR", IE: "EUR", PT: "EUR", FI: "EUR",
  };
  return (region && byRegion[region]) || "USD";
}

export function SignUp() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [form, setForm] = useState({ business_name: "", name: "", email: "", password: "", currency: guessCurrency() });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

  const set = (key: keyof typeof form) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [key]: e.target.value }));

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setErrors({});
    try {
      const created = await unwrap(
        api.POST("/api/v1/auth/signup", {
          body: {
            business_name: form.business_name.trim(),
            name: form.name.trim(),
            email: form.email.trim(),
            password: form.password,
            time_zone: timeZone,
            currency: form.currency,
          },
        }),
      );
      const session = await signInInstead({ email: form.email.trim(), password: form.password }, created);
      queryClient.clear();
      queryClient.setQueryData(sessionKey, session);
      navigate("/", { replace: true });
    } catch (e) {
      if (e instanceof ApiProblem && e.errors.length > 0) {
        setErrors(e.fieldMap());
        setError("Please correct the fields marked below.");
      } else if (e instanceof ApiProblem && e.code === "email_taken") {
        setErrors({ email: "An account already uses this email. Sign in instead?" });
      } else {
        setError(describeError(e));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate>
      <h1>Create your account</h1>
      <p className="muted">Free to start. Set up your business in a minute.</p>
      <FormError message={error} />
      <TextField label="Business name" name="business_name" autoComplete="organization" required autoFocus value={form.business_name} onChange={set("business_name")} error={errors.business_name} />
      <TextField label="Your name" name="name" autoComplete="name" required value={form.name} onChange={set("name")} error={errors.name} />
      <TextField label="Email" name="email" type="email" autoComplete="email" required value={form.email} onChange={set("email")} error={errors.email} />
      <TextField label="Password" name="password" type="password" autoComplete="new-password" required minLength={10} value={form.password} onChange={set("password")} error={errors.password} hint="At least 10 characters." />
      <SelectField label="Currency" name="currency" value={form.currency} onChange={set("currency")} error={errors.currency} hint={`Time zone: ${timeZone} (change it later in Settings).`}>
        {currencies.map((c) => (
          <option key={c} value={c}>
            {c}
          </option>
        ))}
      </SelectField>
      <button type="submit" className="button button--primary button--block" disabled={busy}>
        {busy ? "Creating your account…" : "Create account"}
      </button>
      <p className="auth__links">
        <span>
          Already have an account? <Link to="/sign-in">Sign in</Link>
        </span>
      </p>
    </form>
  );
}
