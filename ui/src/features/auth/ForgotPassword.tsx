import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { api, unwrap } from "../../api/client";
import { ApiProblem, describeError } from "../../api/problem";
import { TextField } from "../../components/Field";
import { FormError } from "../../components/States";

export function ForgotPassword() {
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<string>();
  const [fieldError, setFieldError] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setFieldError(undefined);
    try {
      await unwrap(api.POST("/api/v1/auth/password-reset", { body: { email: email.trim() } }));
      setSent(true);
    } catch (e) {
      if (e instanceof ApiProblem && e.field("email")) setFieldError(e.field("email"));
      else setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }

  if (sent) {
    return (
      <div>
        <h1>Check your email</h1>
        <p role="status">
          If <strong>{email}</strong> has a jobber login, a link to choose a new password is on its way. It works for a limited time.
        </p>
        <p className="auth__links">
          <Link to="/sign-in">Back to sign in</Link>
        </p>
      </div>
    );
  }

  return (
    <form onSubmit={submit} noValidate>
      <h1>Reset your password</h1>
      <p className="muted">Enter the email you sign in with and we will send you a link.</p>
      <FormError message={error} />
      <TextField label="Email" name="email" type="email" autoComplete="email" required autoFocus value={email} onChange={(e) => setEmail(e.target.value)} error={fieldError} />
      <button type="submit" className="button button--primary button--block" disabled={busy || !email}>
        {busy ? "Sending…" : "Send reset link"}
      </button>
      <p className="auth__links">
        <Link to="/sign-in">Back to sign in</Link>
      </p>
    </form>
  );
}
