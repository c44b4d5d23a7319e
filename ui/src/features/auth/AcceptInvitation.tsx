import { api, unwrap } from "../../api/client";
import { signInInstead } from "../../api/session";
import { SetPasswordForm } from "./SetPasswordForm";

/** The link of an invitation email: choose a password and land in the office, signed in. */
export function AcceptInvitation() {
  return (
    <SetPasswordForm
      title="Join your team on jobber"
      intro="You were invited to jobber. Choose a password to finish setting up your login."
      action="Accept invitation"
      done="You are in. Sign in with your email and the password you just chose."
      send={async (token, password) => {
        const accepted = await unwrap(api.POST("/api/v1/auth/invitations/accept", { body: { token, password } }));
        // The invitation is used up now: if the browser cannot be signed in, the
        // person signs in on the next screen (told so by `done`) rather than retrying.
        return signInInstead({ email: accepted.user.email, password }, accepted).catch(() => undefined);
      }}
    />
  );
}
