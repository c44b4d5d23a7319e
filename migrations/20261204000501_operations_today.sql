-- Today's business across accounts for the operator (`GET /status` on the admin
-- listener, `jobber top`): visits completed, invoices sent, payments collected and
-- active users, each account's "today" being its own local day.
--
-- Row-level security keeps the owner's connection out of tenant rows, and the figures
-- need no row, only sums. So, as with session_check (migration 20261203000100), one
-- SECURITY DEFINER function does the counting, owned by jobber_operations: a role that
-- never logs in, may read only the columns below, and returns sums, never a row.

DO $$
DECLARE
    superuser boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'jobber_operations') THEN
        CREATE ROLE jobber_operations NOLOGIN NOSUPERUSER NOINHERIT NOBYPASSRLS;
    END IF;
    -- A non-superuser (RDS) must be a member to give the function to the role; the
    -- membership is dropped again at the end.
    IF NOT superuser AND NOT pg_has_role(current_user, 'jobber_operations', 'MEMBER') THEN
        EXECUTE format('GRANT jobber_operations TO %I', current_user);
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO jobber_operations;
GRANT SELECT (id, time_zone, currency) ON accounts TO jobber_operations;
GRANT SELECT (account_id, status, completed_at) ON visits TO jobber_operations;
GRANT SELECT (account_id, sent_at) ON invoices TO jobber_operations;
GRANT SELECT (account_id, status, amount, tip, paid_at) ON payments TO jobber_operations;
GRANT SELECT (account_id, id, active, last_login_at) ON users TO jobber_operations;
GRANT SELECT (account_id, user_id, last_seen_at) ON sessions TO jobber_operations;
GRANT SELECT (account_id, user_id, created_at) ON refresh_tokens TO jobber_operations;
CREATE POLICY accounts_operations ON accounts FOR SELECT TO jobber_operations USING (true);
CREATE POLICY visits_operations ON visits FOR SELECT TO jobber_operations USING (true);
CREATE POLICY invoices_operations ON invoices FOR SELECT TO jobber_operations USING (true);
CREATE POLICY payments_operations ON payments FOR SELECT TO jobber_operations USING (true);
CREATE POLICY users_operations ON users FOR SELECT TO jobber_operations USING (true);
CREATE POLICY sessions_operations ON sessions FOR SELECT TO jobber_operations USING (true);
CREATE POLICY refresh_tokens_operations ON refresh_tokens FOR SELECT TO jobber_operations USING (true);

-- The day's rows across accounts, found by time alone. A local day starts less than
-- 26 hours ago (a 25-hour day when clocks go back), which bounds each range scanned.
CREATE INDEX visits_completed_at_idx ON visits (completed_at) WHERE status = 'completed';
CREATE INDEX invoices_sent_at_idx ON invoices (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX payments_paid_at_idx ON payments (paid_at);

CREATE FUNCTION operations_today()
RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $fn$
    WITH days AS (
        SELECT a.id AS account_id, trim(a.currency) AS currency,
               date_trunc('day', now() AT TIME ZONE a.time_zone) AT TIME ZONE a.time_zone AS day_start
          FROM accounts a
    )
    SELECT jsonb_build_object(
        'accounts', (SELECT count(d.account_id) FROM days d),
        'visits_completed', (
            SELECT count(v.account_id) FROM visits v JOIN days d ON d.account_id = v.account_id
             WHERE v.status = 'completed' AND v.completed_at > now() - interval '26 hours'
               AND v.completed_at >= d.day_start),
        'invoices_sent', (
            SELECT count(i.account_id) FROM invoices i JOIN days d ON d.account_id = i.account_id
             WHERE i.sent_at IS NOT NULL AND i.sent_at > now() - interval '26 hours'
               AND i.sent_at >= d.day_start),
        'payments_collected', coalesce((
            SELECT jsonb_agg(jsonb_build_object('currency', c.currency, 'amount_minor', c.amount,
                                                'payments', c.payments) ORDER BY c.currency)
              FROM (SELECT d.currency, sum(p.amount + p.tip)::bigint AS amount, count(p.account_id) AS payments
                      FROM payments p JOIN days d ON d.account_id = p.account_id
                     WHERE p.status IN ('succeeded', 'refunded', 'partially_refunded')
                       AND p.paid_at > now() - interval '26 hours' AND p.paid_at >= d.day_start
                     GROUP BY d.currency) c), '[]'::jsonb),
        'active_users', (
            SELECT count(u.id) FROM users u JOIN days d ON d.account_id = u.account_id
             WHERE u.active AND (
                   u.last_login_at >= d.day_start
                OR EXISTS (SELECT FROM sessions s
                            WHERE s.account_id = u.account_id AND s.user_id = u.id
                              AND s.last_seen_at >= d.day_start)
                OR EXISTS (SELECT FROM refresh_tokens r
                            WHERE r.account_id = u.account_id AND r.user_id = u.id
                              AND r.created_at >= d.day_start)))
    )
$fn$;

GRANT CREATE ON SCHEMA public TO jobber_operations;
ALTER FUNCTION operations_today() OWNER TO jobber_operations;
REVOKE CREATE ON SCHEMA public FROM jobber_operations;
REVOKE ALL ON FUNCTION operations_today() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION operations_today() TO CURRENT_USER;

DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND pg_has_role(current_user, 'jobber_operations', 'MEMBER') THEN
        EXECUTE format('REVOKE jobber_operations FROM %I', current_user);
    END IF;
END
$$;
