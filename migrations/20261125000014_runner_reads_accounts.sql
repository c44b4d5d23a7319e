-- Scheduled work (extending recurring series, reminders) walks the accounts: the job
-- runner, which connects as the role that owns and migrates the schema, may list
-- them. Tenant transactions run as jobber_app and still see only their own account.
CREATE POLICY accounts_runner_read ON accounts FOR SELECT TO CURRENT_USER USING (true);

-- The cleanup task deletes emailed tokens (password resets, invitations) a week
-- after they expired or were used, across accounts.
CREATE POLICY user_tokens_cleanup ON user_tokens FOR DELETE TO CURRENT_USER USING (true);
