import { useState, type FormEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { Link, useLocation, useNavigate } from "react-router";
import { describeError, isProblem } from "../../api/problem";
import { sessionKey, signIn } from "../../api/session";
import { TextField } from "../../components/Field";
import { FormError } from "../../components/States";
import { useNext } from "./useNext";

export function SignIn() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const location = useLocation();
  const next = useNext();
  const notice = (location.state as { notice?: string } | null)?.notice;
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [step, setStep] = useState<"password" | "totp">("password");
  const [useRecovery, setUseRecovery] = useState(false);
  const [code, setCode] = useState("");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const second = step === "totp" ? (useRecovery ? { recovery_code: code.trim() } : { totp_code: code.replace(/\s/g, "") }) : {};
      const session = await signIn({ email: email.trim(), password, ...second });
      queryClient.clear();
      queryClient.setQueryData(sessionKey, session);
      navigate(next, { replace: true });
    } catch (e) {
      if (isProblem(e, "totp_required")) {
        setStep("totp");
      } else if (isProblem(e, "invalid_credentials") && step === "totp") {
        setError(useRecovery ? "That recovery code is not valid." : "That code is not valid. Check your authenticator app and try again.");
      } else if (isProblem(e, "invalid_credentials")) {
        setError("The email or password is incorrect.");
      } else {
        setError(describeError(e));
      }
    } finally {
      setBusy(false);
    }
  }

  if (step === "totp") {
    return (
      <form onSubmit={submit} noValidate>
        <h1>Two-step verification</h1>
        <p className="muted">
          {useRecovery ? "Enter one of the recovery codes you saved." : "Enter the 6-digit code from your authenticator app."}
        </p>
        <FormError message={error} />
        <TextField
          label={useRecovery ? "Recovery code" : "Authentication code"}
          name="code"
          autoComplete="one-time-code"
          inputMode={useRecovery ? "text" : "numeric"}
          autoFocus
          required
          value={code}
          onChange={(e) => setCode(e.target.value)}
        />
        <button type="submit" className="button button--primary button--block" disabled={busy || !code.trim()}>
          {busy ? "Checking…" : "Verify and sign in"}
        </button>
        <p className="auth__links">
          <button type="button" className="link-button" onClick={() => { setUseRecovery((v) => !v); setCode(""); setError(undefined); }}>
            {useRecovery ? "Use an authentication code instead" : "Use a recovery code instead"}
          </button>
          <button type="button" className="link-button" onClick={() => { setStep("password"); setCode(""); setError(undefined); }}>
            Back
          </button>
        </p>
      </form>
    );
  }

  return (
    <form onSubmit={submit} noValidate>
      <h1>Sign in</h1>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <FormError message={error} />
      <TextField label="Email" name="email" type="email" autoComplete="username" required autoFocus value={email} onChange={(e) => setEmail(e.target.value)} />
      <TextField label="Password" name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
      <button type="submit" className="button button--primary button--block" disabled={busy || !email || !password}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
      <p className="auth__links">
        <Link to="/forgot-password">Forgot your password?</Link>
        <span>
          New to jobber? <Link to="/sign-up">Create an account</Link>
        </span>
      </p>
    </form>
  );
}
