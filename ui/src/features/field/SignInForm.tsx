import { useState, type FormEvent } from "react";
import { field } from "./store";

/** Sign in with the same account and session as the office app. */
export function SignInForm({ notice }: { notice?: string }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [needsCode, setNeedsCode] = useState(false);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    const result = await field.signIn(email.trim(), password, needsCode ? code.replace(/\s/g, "") : undefined);
    setBusy(false);
    if (result.code === "totp_required") setNeedsCode(true);
    else if (result.error) setError(result.error);
  }

  return (
    <main className="fld-main fld-signin">
      <h1 className="fld-title">Sign in</h1>
      <p className="fld-muted">Your visits, checklists and time, on your phone — even without signal.</p>
      {notice && <p className="fld-note">{notice}</p>}
      <form onSubmit={submit} noValidate>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <div className="field">
          <label htmlFor="signin-email">Email</label>
          <input id="signin-email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="signin-password">Password</label>
          <input id="signin-password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </div>
        {needsCode && (
          <div className="field">
            <label htmlFor="signin-code">Authentication code</label>
            <input id="signin-code" inputMode="numeric" autoComplete="one-time-code" value={code} onChange={(e) => setCode(e.target.value)} />
          </div>
        )}
        <button type="submit" className="button button--primary button--big" disabled={busy || !email || !password}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
