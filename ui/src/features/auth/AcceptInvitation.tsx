import { api, unwrap } from "../../api/client";
import { SetPasswordForm } from "./SetPasswordForm";

export function AcceptInvitation() {
  return (
    <SetPasswordForm
      title="Join your team on jobber"
      intro="You were invited to jobber. Choose a password to finish setting up your login."
      action="Accept invitation"
      done="You are in. Sign in with your email and the password you just chose."
      send={(token, password) => unwrap(api.POST("/api/v1/auth/invitations/accept", { body: { token, password } }))}
    />
  );
}
