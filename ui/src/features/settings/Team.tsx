import { useState, type FormEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { useSignedIn } from "../../api/session";
import { Dialog } from "../../components/Dialog";
import { SelectField, TextField } from "../../components/Field";
import { ErrorState, FormError, Spinner } from "../../components/States";
import { useFormat } from "../../lib/locale";
import { inviteMember, resendInvitation, resetTotp, updateMember, useTeam, type Role, type TeamMember } from "./api";
import { describeHours, PersonHoursDialog, usePeopleHours } from "./PersonHours";
import { useSave } from "./useSave";

export const roles: { value: Role; label: string; help: string }[] = [
  { value: "owner", label: "Owner", help: "Everything, including billing and the team" },
  { value: "admin", label: "Admin", help: "Everything but removing the last owner" },
  { value: "dispatcher", label: "Dispatcher", help: "Clients, quotes, jobs, schedule and invoices" },
  { value: "technician", label: "Technician", help: "Their own visits in the field app" },
];

const key = ["users"];

export function Team({ canEdit }: { canEdit: boolean }) {
  const team = useTeam();
  const { user: me } = useSignedIn();
  const fmt = useFormat();
  const [inviting, setInviting] = useState(false);
  const [confirm, setConfirm] = useState<{ member: TeamMember; action: "deactivate" | "totp" } | null>(null);
  const [message, setMessage] = useState("");
  const [hoursOf, setHoursOf] = useState<TeamMember | null>(null);
  const people = usePeopleHours();
  const row = useSave();
  const queryClient = useQueryClient();

  async function change(member: TeamMember, patch: { role?: Role; active?: boolean }, done: string) {
    setMessage("");
    const saved = await row.run(() => updateMember(member.id, { ...patch, version: member.version }));
    if (saved) setMessage(done);
    await queryClient.invalidateQueries({ queryKey: key });
  }

  const hoursFor = (member: TeamMember) => people.data?.find((p) => p.user_id === member.id);

  async function resend(member: TeamMember) {
    setMessage("");
    const done = await row.run(async () => {
      await resendInvitation(member.id);
      return true;
    });
    if (done) setMessage(`A new invitation is on its way to ${member.email}.`);
  }

  return (
    <section className="settings-panel" aria-labelledby="team-h">
      <div className="settings-panel__head">
        <h2 id="team-h">Team and roles</h2>
        {canEdit && (
          <button type="button" className="button button--primary" onClick={() => setInviting(true)}>
            Invite a member
          </button>
        )}
      </div>
      <p className="muted">Everyone who signs in to your business. Owners and admins manage the team.</p>
      <FormError message={row.error} />
      <p role="status" className="save-status">{message}</p>
      {team.isPending ? (
        <Spinner label="Loading the team" />
      ) : team.isError ? (
        <ErrorState error={team.error} onRetry={() => void team.refetch()} />
      ) : (
        <ul className="team-list">
          {team.data.items.map((member) => {
            const self = member.id === me.id;
            return (
              <li key={member.id} className={`team-list__item${member.active ? "" : " team-list__item--inactive"}`}>
                <div className="team-list__who">
                  <strong>
                    {member.name}
                    {self && <span className="muted"> (you)</span>}
                  </strong>
                  <span className="muted">{member.email}</span>
                  <span className="team-list__badges">
                    {member.invited && <span className="badge badge--sent">Invited</span>}
                    {!member.active && <span className="badge">Deactivated</span>}
                    {member.last_login_at && <span className="muted small">Last signed in {fmt.date(member.last_login_at)}</span>}
                  </span>
                  {hoursFor(member) && <span className="muted small">Online booking: {describeHours(hoursFor(member)!.working_hours)}</span>}
                </div>
                <div className="team-list__role">
                  {canEdit && !self ? (
                    <SelectField
                      label={`Role of ${member.name}`}
                      className="field--compact"
                      value={member.role}
                      disabled={row.busy || !member.active}
                      onChange={(e) => void change(member, { role: e.target.value as Role }, `${member.name} is now ${e.target.value}.`)}
                    >
                      {roles.map((r) => (
                        <option key={r.value} value={r.value}>
                          {r.label}
                        </option>
                      ))}
                    </SelectField>
                  ) : (
                    <span className="badge">{member.role}</span>
                  )}
                </div>
                {canEdit && !self && (
                  <div className="team-list__actions">
                    {member.invited && member.active && (
                      <button type="button" className="link-button" onClick={() => void resend(member)} disabled={row.busy}>
                        Resend invitation<span className="visually-hidden"> to {member.name}</span>
                      </button>
                    )}
                    {(member.role === "owner" || member.role === "admin") && member.active && !member.invited && (
                      <button type="button" className="link-button" onClick={() => setConfirm({ member, action: "totp" })}>
                        Reset two-factor<span className="visually-hidden"> of {member.name}</span>
                      </button>
                    )}
                    {member.active && (member.role === "technician" || hoursFor(member)) && (
                      <button type="button" className="link-button" onClick={() => setHoursOf(member)}>
                        Working hours<span className="visually-hidden"> of {member.name}</span>
                      </button>
                    )}
                    {member.active ? (
                      <button type="button" className="link-button link-button--danger" onClick={() => setConfirm({ member, action: "deactivate" })}>
                        Deactivate<span className="visually-hidden"> {member.name}</span>
                      </button>
                    ) : (
                      <button type="button" className="link-button" onClick={() => void change(member, { active: true }, `${member.name} can sign in again.`)}>
                        Reactivate<span className="visually-hidden"> {member.name}</span>
                      </button>
                    )}
                  </div>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {hoursOf && (
        <PersonHoursDialog
          userId={hoursOf.id}
          name={hoursOf.name}
          hours={hoursFor(hoursOf)?.working_hours}
          onClose={() => setHoursOf(null)}
          onSaved={setMessage}
        />
      )}
      {inviting && (
        <InviteDialog
          onClose={() => setInviting(false)}
          onInvited={(m) => setMessage(`${m.name} is invited: an email with a link to choose a password is on its way to ${m.email}.`)}
        />
      )}
      {confirm?.action === "deactivate" && (
        <Confirm
          title={`Deactivate ${confirm.member.name}?`}
          body="They are signed out everywhere and can no longer sign in. Their work and history stay. You can reactivate them later."
          action="Deactivate"
          onClose={() => setConfirm(null)}
          onConfirm={() => change(confirm.member, { active: false }, `${confirm.member.name} is deactivated.`)}
        />
      )}
      {confirm?.action === "totp" && (
        <Confirm
          title={`Reset two-factor sign-in of ${confirm.member.name}?`}
          body="Their authenticator app and recovery codes stop working; they sign in with their password and set up two-factor again."
          action="Reset two-factor"
          onClose={() => setConfirm(null)}
          onConfirm={async () => {
            const done = await row.run(async () => {
              await resetTotp(confirm.member.id);
              return true;
            });
            if (done) setMessage(`Two-factor sign-in of ${confirm.member.name} is reset.`);
          }}
        />
      )}
    </section>
  );
}

function Confirm({ title, body, action, onClose, onConfirm }: { title: string; body: string; action: string; onClose: () => void; onConfirm: () => Promise<void> }) {
  const [busy, setBusy] = useState(false);
  return (
    <Dialog title={title} onClose={onClose}>
      <p>{body}</p>
      <div className="form__actions dialog__actions">
        <button
          type="button"
          className="button button--danger"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            await onConfirm();
            setBusy(false);
            onClose();
          }}
        >
          {action}
        </button>
        <button type="button" className="button" onClick={onClose}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}

function InviteDialog({ onClose, onInvited }: { onClose: () => void; onInvited: (member: TeamMember) => void }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("technician");
  const save = useSave();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const member = await save.run(() => inviteMember({ name: name.trim(), email: email.trim(), role }));
    if (member) {
      await queryClient.invalidateQueries({ queryKey: key });
      onInvited(member);
      onClose();
    }
  }

  return (
    <Dialog title="Invite a team member" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <p className="muted">They get an email with a link to choose their password.</p>
        <FormError message={save.error} />
        <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} error={save.fields.name} autoFocus autoComplete="off" />
        <TextField label="Email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} error={save.fields.email} autoComplete="off" />
        <SelectField
          label="Role"
          value={role}
          onChange={(e) => setRole(e.target.value as Role)}
          error={save.fields.role}
          hint={roles.find((r) => r.value === role)?.help}
        >
          {roles.map((r) => (
            <option key={r.value} value={r.value}>
              {r.label}
            </option>
          ))}
        </SelectField>
        <div className="form__actions dialog__actions">
          <button type="submit" className="button button--primary" disabled={save.busy}>
            {save.busy ? "Sending…" : "Send invitation"}
          </button>
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
