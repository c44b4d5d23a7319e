import { useState, type FormEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useSearchParams } from "react-router";
import { ApiProblem, describeError } from "../../api/problem";
import { sessionKey, type Session } from "../../api/session";
import { TextField } from "../../components/Field";
import { FormError } from "../../components/States";

/**
 * Choose a password with the token from an emailed link (reset or invitation). When
 * `send` answers with a browser session the person lands in the office signed in;
 * otherwise they sign in with the new password, told so by `done`.
 */
export function SetPasswordForm({
  title,
  intro,
  action,
  done,
  send,
}: {
  title: string;
  intro: string;
  action: string;
  done: string;
  send: (token: string, password: string) => Promise<Session | void>;
}) {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  if (!token) {
    return (
      <div>
        <h1>{title}</h1>
        <FormError message="This link is incomplete. Open the link from the email again, or ask for a new one." />
        <p className="auth__links">
          <Link to="/forgot-password">Get a new link</Link>
        </p>
      </div>
    );
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(undefined);
    setErrors({});
    if (password !== confirm) {
      setErrors({ confirm: "The two passwords differ." });
      return;
    }
    setBusy(true);
    try {
      const session = await send(token, password);
      if (session) {
        queryClient.clear();
        queryClient.setQueryData(sessionKey, session);
        navigate("/", { replace: true });
      } else {
        navigate("/sign-in", { replace: true, state: { notice: done } });
      }
    } catch (e) {
      if (e instanceof ApiProblem && e.field("password")) setErrors({ password: e.field("password") ?? "" });
      else if (e instanceof ApiProblem && (e.code === "invalid_token" || e.code === "link_expired" || e.field("token")))
        setError("This link has expired or was already used. Ask for a new one.");
      else setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate>
      <h1>{title}</h1>
      <p className="muted">{intro}</p>
      <FormError message={error} />
      <TextField label="New password" name="password" type="password" autoComplete="new-password" required minLength={10} autoFocus value={password} onChange={(e) => setPassword(e.target.value)} error={errors.password} hint="At least 10 characters." />
      <TextField label="Repeat the password" name="confirm" type="password" autoComplete="new-password" required value={confirm} onChange={(e) => setConfirm(e.target.value)} error={errors.confirm} />
      <button type="submit" className="button button--primary button--block" disabled={busy || !password}>
        {busy ? "Saving…" : action}
      </button>
    </form>
  );
}
