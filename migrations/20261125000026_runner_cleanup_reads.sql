-- The cleanup tasks delete expired rows across accounts on the owner's connection
-- (`DELETE … WHERE expires_at < now()`). A DELETE with a WHERE clause must also see
-- the rows it tests, through a SELECT policy; migrations 11 and 14 gave the owner
-- only DELETE policies, so where the owner is not a superuser (RDS, a managed
-- PostgreSQL) the tasks found nothing and deleted nothing. Tenant transactions run
-- as jobber_app and are not affected.
CREATE POLICY idempotency_keys_cleanup_read ON idempotency_keys FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY refresh_tokens_cleanup_read ON refresh_tokens FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY user_tokens_cleanup_read ON user_tokens FOR SELECT TO CURRENT_USER USING (true);
