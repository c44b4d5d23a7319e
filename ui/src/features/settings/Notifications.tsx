// /settings/notifications: "Email me when…", which of the signed-in person's own
// notifications also come by email. Everyone in the office chooses for themself
// (dispatchers too: it changes nobody else's); until they do, their role's defaults
// apply, which the server says.
import { useEffect, useRef, useState, type FormEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { useSignedIn } from "../../api/session";
import { ErrorState, FormError, Spinner } from "../../components/States";
import { notificationSettingsKey, putNotificationSettings, useNotificationSettings, type NotificationSettings } from "./api";
import { useSave } from "./useSave";

export function NotificationsSection() {
  const settings = useNotificationSettings();
  if (settings.isPending) return <Spinner label="Loading your notification settings" />;
  if (settings.isError) return <ErrorState error={settings.error} onRetry={() => void settings.refetch()} />;
  return <NotificationsEditor settings={settings.data} />;
}

/** The kinds checked in `settings`, in its order. */
export function emailed(settings: NotificationSettings): string[] {
  return settings.kinds.filter((k) => k.email).map((k) => k.kind);
}

function NotificationsEditor({ settings }: { settings: NotificationSettings }) {
  const { user } = useSignedIn();
  const [chosen, setChosen] = useState<string[]>(() => emailed(settings));
  useEffect(() => setChosen(emailed(settings)), [settings]);
  const save = useSave();
  const queryClient = useQueryClient();
  // What was sent, so that `email[i]` in an error names its kind.
  const sent = useRef<string[]>([]);
  const formRef = useRef<HTMLFormElement>(null);
  useEffect(() => {
    if (Object.keys(save.fields).length > 0) formRef.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
  }, [save.fields]);

  const errorOf = (kind: string): string | undefined => {
    const i = sent.current.indexOf(kind);
    return i < 0 ? undefined : save.fields[`email[${i}]`];
  };

  function toggle(kind: string, on: boolean) {
    // Kept in the server's order, so a save sends them as they are listed.
    setChosen((now) => settings.kinds.map((k) => k.kind).filter((k) => (k === kind ? on : now.includes(k))));
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    sent.current = chosen;
    const saved = await save.run(() => putNotificationSettings({ email: chosen }));
    if (saved) queryClient.setQueryData(notificationSettingsKey, saved);
  }

  return (
    <form className="form settings-form" onSubmit={submit} noValidate ref={formRef} aria-labelledby="notifications-h">
      <h2 id="notifications-h">Notifications</h2>
      <p className="muted">
        Everything below shows up in the app&rsquo;s notifications. Choose what also comes by email to {user.email}; this changes only your own
        emails.
      </p>
      {!settings.customized && <p className="notice notice--info">You have not chosen yet: these are the usual choices for your role.</p>}
      <FormError message={save.error} />
      <fieldset disabled={save.busy} className="notify-kinds">
        <legend>Email me when…</legend>
        {settings.kinds.map((k) => {
          const error = errorOf(k.kind);
          const errorId = `notify-${k.kind}-error`;
          return (
            <div key={k.kind} className="notify-kind">
              <label className="check">
                <input
                  type="checkbox"
                  checked={chosen.includes(k.kind)}
                  aria-invalid={error ? true : undefined}
                  aria-describedby={error ? errorId : undefined}
                  onChange={(e) => toggle(k.kind, e.target.checked)}
                />
                {k.label}
              </label>
              {error && (
                <p id={errorId} className="field__error">
                  {error}
                </p>
              )}
            </div>
          );
        })}
      </fieldset>
      <div className="form__actions">
        <button type="submit" className="button button--primary" disabled={save.busy}>
          {save.busy ? "Saving…" : "Save changes"}
        </button>
        <span role="status" className="save-status">
          {save.saved ? "Saved." : ""}
        </span>
      </div>
    </form>
  );
}
