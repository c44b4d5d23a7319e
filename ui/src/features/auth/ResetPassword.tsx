import { api, unwrap } from "../../api/client";
import { SetPasswordForm } from "./SetPasswordForm";

export function ResetPassword() {
  return (
    <SetPasswordForm
      title="Choose a new password"
      intro="Pick a password you do not use anywhere else."
      action="Save password"
      done="Your password was changed. Sign in with the new one."
      send={async (token, password) => {
        await unwrap(api.POST("/api/v1/auth/password-reset/confirm", { body: { token, password } }));
      }}
    />
  );
}
