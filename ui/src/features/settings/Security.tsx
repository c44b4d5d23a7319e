// /settings/security: the signed-in person's own sign-in: two-step verification
// (set up with an authenticator app, recovery codes shown once, turned off with the
// password) and where they are signed in (end one sign-in, or all of them).
import { useState, type FormEvent } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router";
import { api, unwrap } from "../../api/client";
import { describeError } from "../../api/problem";
import { useSignedIn, useSignOut } from "../../api/session";
import { Dialog } from "../../components/Dialog";
import { TextField } from "../../components/Field";
import { ErrorState, FormError, Spinner } from "../../components/States";
import { useFormat } from "../../lib/locale";
import type { components } from "../../api/schema";
import { useSave } from "./useSave";

type SignIn = components["schemas"]["SessionInfo"];

const totpKey = ["auth", "totp"];
const sessionsKey = ["auth", "sessions"];

/** "Chrome on Linux" from a User-Agent; the raw text when it names nothing we know. */
export function deviceName(userAgent: string | null | undefined): string {
  if (!userAgent) return "Unknown browser";
  const browser = /Edg\//.test(userAgent)
    ? "Edge"
    : /Firefox\//.test(userAgent)
      ? "Firefox"
      : /Chrom(e|ium)\//.test(userAgent)
        ? "Chrome"
        : /Safari\//.test(userAgent)
          ? "Safari"
          : null;
  const system = /Android/.test(userAgent)
    ? "Android"
    : /iPhone|iPad/.test(userAgent)
      ? "iOS"
      : /Mac OS X/.test(userAgent)
        ? "macOS"
        : /Windows/.test(userAgent)
          ? "Windows"
          : /Linux/.test(userAgent)
            ? "Linux"
            : null;
  if (!browser) return userAgent.slice(0, 60);
  return system ? `${browser} on ${system}` : browser;
}

export function Security() {
  const { user } = useSignedIn();
  return (
    <section className="settings-panel" aria-labelledby="security-h">
      <div className="settings-panel__head">
        <h2 id="security-h">Your sign-in</h2>
      </div>
      <p className="muted">
        How {user.email} signs in, and where. These choices are yours alone; they do not change anyone else's sign-in.
      </p>
      <TwoStep />
      <SignIns />
    </section>
  );
}

function TwoStep() {
  const status = useQuery({ queryKey: totpKey, queryFn: ({ signal }) => unwrap(api.GET("/api/v1/auth/totp", { signal })) });
  const queryClient = useQueryClient();
  const [setup, setSetup] = useState<{ secret: string; otpauth_url: string } | null>(null);
  const [code, setCode] = useState("");
  const [codes, setCodes] = useState<string[] | null>(null);
  const [turningOff, setTurningOff] = useState(false);
  const save = useSave();

  async function begin() {
    const started = await save.run(() => unwrap(api.POST("/api/v1/auth/totp/setup")));
    if (started) setSetup(started);
  }

  async function confirm(event: FormEvent) {
    event.preventDefault();
    const done = await save.run(() => unwrap(api.POST("/api/v1/auth/totp/enable", { body: { code: code.trim() } })));
    if (done) {
      setCodes(done.recovery_codes);
      setSetup(null);
      setCode("");
      await queryClient.invalidateQueries({ queryKey: totpKey });
    }
  }

  if (status.error) return <ErrorState error={status.error} onRetry={() => void status.refetch()} />;
  if (!status.data) return <Spinner label="Loading two-step verification" />;
  const on = status.data.enabled;
  return (
    <div className="card security-card">
      <h3>Two-step verification</h3>
      {codes ? (
        <div role="status">
          <p>
            <strong>Two-step verification is on.</strong> Keep these recovery codes somewhere safe: each one signs you in once if you lose your
            phone. They are shown only now.
          </p>
          <ul className="recovery-codes" aria-label="Recovery codes">
            {codes.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
          <button type="button" className="button" onClick={() => setCodes(null)}>
            I have saved them
          </button>
        </div>
      ) : on ? (
        <>
          <p>
            <span className="badge badge--completed">On</span> Signing in asks for a code from your authenticator app.{" "}
            {status.data.recovery_codes_left} recovery {status.data.recovery_codes_left === 1 ? "code is" : "codes are"} left.
          </p>
          <button type="button" className="button" onClick={() => setTurningOff(true)}>
            Turn off two-step verification
          </button>
        </>
      ) : setup ? (
        <form onSubmit={confirm} noValidate>
          <p>
            Add jobber to your authenticator app (Google Authenticator, 1Password, Authy…): open{" "}
            <a href={setup.otpauth_url}>this setup link</a> on your phone, or type in the key.
          </p>
          <TextField label="Setup key" className="totp-secret" readOnly value={setup.secret.replace(/(.{4})/g, "$1 ").trim()} onFocus={(e) => e.target.select()} />
          <TextField
            label="The 6-digit code your app shows"
            inputMode="numeric"
            autoComplete="one-time-code"
            value={code}
            onChange={(e) => setCode(e.target.value)}
            error={save.fields.code}
          />
          <FormError message={Object.keys(save.fields).length > 0 ? undefined : save.error} />
          <div className="form__actions">
            <button type="submit" className="button button--primary" disabled={save.busy || code.trim().length < 6}>
              Turn on
            </button>
            <button type="button" className="button" onClick={() => setSetup(null)}>
              Not now
            </button>
          </div>
        </form>
      ) : (
        <>
          <p>Off. With it on, signing in also asks for a code from an app on your phone, so a stolen password is not enough.</p>
          <FormError message={save.error} />
          <button type="button" className="button button--primary" onClick={() => void begin()} disabled={save.busy}>
            Set up two-step verification
          </button>
        </>
      )}
      {turningOff && <TurnOff onClose={() => setTurningOff(false)} />}
    </div>
  );
}

function TurnOff({ onClose }: { onClose: () => void }) {
  const [password, setPassword] = useState("");
  const save = useSave();
  const queryClient = useQueryClient();
  async function submit(event: FormEvent) {
    event.preventDefault();
    const done = await save.run(async () => {
      await unwrap(api.POST("/api/v1/auth/totp/disable", { body: { password } }));
      return true;
    });
    if (done) {
      await queryClient.invalidateQueries({ queryKey: totpKey });
      onClose();
    }
  }
  return (
    <Dialog title="Turn off two-step verification?" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <p>Signing in will need only your password. Your recovery codes stop working.</p>
        <TextField label="Your password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} error={save.fields.password} />
        <FormError message={save.error} />
        <div className="form__actions dialog__actions">
          <button type="submit" className="button button--primary" disabled={save.busy || !password}>
            Turn off
          </button>
          <button type="button" className="button" onClick={onClose}>
            Keep it on
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function SignIns() {
  const fmt = useFormat();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const signOut = useSignOut();
  const list = useQuery({ queryKey: sessionsKey, queryFn: ({ signal }) => unwrap(api.GET("/api/v1/auth/sessions", { signal })) });
  const [error, setError] = useState<string>();
  const [everywhere, setEverywhere] = useState(false);

  async function end(session: SignIn) {
    setError(undefined);
    // Gone from the list at once; back if the server says no.
    const before = queryClient.getQueryData(sessionsKey);
    queryClient.setQueryData<{ sessions: SignIn[] }>(sessionsKey, (old) => old && { sessions: old.sessions.filter((s) => s.id !== session.id) });
    try {
      await unwrap(api.DELETE("/api/v1/auth/sessions/{id}", { params: { path: { id: session.id } } }));
    } catch (e) {
      queryClient.setQueryData(sessionsKey, before);
      setError(describeError(e));
    }
  }

  async function endAll() {
    try {
      await unwrap(api.POST("/api/v1/auth/sessions/revoke-all"));
    } catch (e) {
      setError(describeError(e));
      setEverywhere(false);
      return;
    }
    // This browser's session ended too: the cookie is gone.
    await signOut().catch(() => {});
    navigate("/sign-in", { replace: true });
  }

  return (
    <div className="card security-card">
      <h3>Where you are signed in</h3>
      {list.error ? (
        <ErrorState error={list.error} onRetry={() => void list.refetch()} />
      ) : !list.data ? (
        <Spinner label="Loading your sign-ins" />
      ) : (
        <ul className="sign-ins" aria-label="Your sign-ins">
          {list.data.sessions.map((s) => (
            <li key={s.id} className="sign-ins__row">
              <div>
                <strong>{s.kind === "token" ? "API or app sign-in" : deviceName(s.user_agent)}</strong>
                {s.current && <span className="badge badge--active sign-ins__current">This browser</span>}
                <div className="muted">
                  Signed in {fmt.dateTime(s.created_at)} · last used {fmt.dateTime(s.last_seen_at)}
                  {s.ip ? ` · ${s.ip}` : ""}
                </div>
              </div>
              {!s.current && (
                <button type="button" className="button" onClick={() => void end(s)}>
                  Sign out<span className="visually-hidden"> {s.kind === "token" ? "the API sign-in" : deviceName(s.user_agent)} from {fmt.dateTime(s.created_at)}</span>
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <FormError message={error} />
      <button type="button" className="button" onClick={() => setEverywhere(true)}>
        Sign out everywhere
      </button>
      {everywhere && (
        <Dialog title="Sign out everywhere?" onClose={() => setEverywhere(false)}>
          <p>Every browser and app signed in as you is signed out, this one too. You sign in again here right after.</p>
          <div className="form__actions dialog__actions">
            <button type="button" className="button button--primary" onClick={() => void endAll()}>
              Sign out everywhere
            </button>
            <button type="button" className="button" onClick={() => setEverywhere(false)}>
              Cancel
            </button>
          </div>
        </Dialog>
      )}
    </div>
  );
}
