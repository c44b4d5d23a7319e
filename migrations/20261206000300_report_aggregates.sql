-- Report aggregates (issue 14, "Reports at scale"): the dashboard and the jobs report
-- read these small tables instead of counting up to a million visits.
--
-- Each table is kept exact by statement-level triggers on the base tables, in the
-- transaction of the write, whatever made it (a service, the demo seed, a cascade of
-- a foreign key). A trigger computes each changed row's contribution before (the
-- transition table of old rows, counted negative) and after (new rows, positive),
-- sums them per key and adds the non-zero sums. A bulk insert of a million visits is
-- one such pass per statement, not a million. `report_aggregates_rebuild(account)`
-- recomputes an account's rows from the base tables: this migration backfills with
-- it, a change of the account's time zone runs it (the local days move), and
-- `jobber admin rebuild-aggregates` runs it on demand. docs/reports.md says why
-- triggers rather than statements in the services.
--
-- Days are the account's local days: `(instant AT TIME ZONE accounts.time_zone)::date`.
-- Rows whose sums came back to zero are kept (a bounded number of keys); readers
-- ignore them.

-- Completed visits of per-visit jobs not invoiced, completed jobs billed on
-- completion not invoiced: the dashboard's "to invoice" counters.
CREATE TABLE report_counters (
    account_id         uuid PRIMARY KEY REFERENCES accounts (id),
    visits_to_invoice  bigint NOT NULL DEFAULT 0,
    jobs_to_invoice    bigint NOT NULL DEFAULT 0
);

-- Visits not cancelled that overlap each local day (an overnight visit counts on
-- each day it touches), as the dashboard's "today's visits" counts them.
CREATE TABLE report_visit_days (
    account_id  uuid NOT NULL REFERENCES accounts (id),
    day         date NOT NULL,
    visits      bigint NOT NULL,
    PRIMARY KEY (account_id, day)
);

-- Issued invoices with a balance (sent, partially paid), by due date: receivables
-- and the overdue part of them as of any day.
CREATE TABLE report_open_invoices (
    account_id  uuid NOT NULL REFERENCES accounts (id),
    due_date    date NOT NULL,
    invoices    bigint NOT NULL,
    balance     numeric NOT NULL,
    PRIMARY KEY (account_id, due_date)
);

-- Money collected (payments less refunds) by local day of payment.
CREATE TABLE report_payment_days (
    account_id  uuid NOT NULL REFERENCES accounts (id),
    day         date NOT NULL,
    collected   numeric NOT NULL,
    PRIMARY KEY (account_id, day)
);

-- Jobs by local day of creation and status: how many and the sum of their totals.
CREATE TABLE report_job_days (
    account_id  uuid NOT NULL REFERENCES accounts (id),
    day         date NOT NULL,
    status      text NOT NULL,
    jobs        bigint NOT NULL,
    total       numeric NOT NULL,
    PRIMARY KEY (account_id, day, status)
);

-- Completed visits per assignee by local day of completion.
CREATE TABLE report_technician_days (
    account_id  uuid NOT NULL REFERENCES accounts (id),
    day         date NOT NULL,
    user_id     uuid NOT NULL,
    completed   bigint NOT NULL,
    PRIMARY KEY (account_id, day, user_id)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['report_counters', 'report_visit_days', 'report_open_invoices',
                             'report_payment_days', 'report_job_days', 'report_technician_days'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON %I USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id())',
                       t || '_tenant', t);
    END LOOP;
END
$$;

-- Writers of an account's aggregates take this lock shared, a rebuild takes it
-- exclusive: a rebuild then sees every concurrent write committed, and a write that
-- waited for a rebuild reads the account's new time zone.
CREATE FUNCTION report_lock_key(account uuid) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT hashtextextended('report_aggregates:' || account::text, 0) $$;

-- The start of local day `d` in zone `tz` (a time in a gap is read with the offset
-- before the gap, as elsewhere in the code).
CREATE FUNCTION report_day_start(d date, tz text) RETURNS timestamptz
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT d::timestamp AT TIME ZONE tz $$;

-- The local days a visit counts on for "today's visits": not cancelled, scheduled,
-- and overlapping the day [start of day, start of next day), searched as the
-- dashboard always did, among visits starting at most 25 hours before the day.
CREATE FUNCTION report_visit_days_of(status text, starts_at timestamptz, ends_at timestamptz, tz text)
    RETURNS SETOF date
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT d
      FROM generate_series(-1, 2) AS k, LATERAL (SELECT (starts_at AT TIME ZONE tz)::date + k AS d) x
     WHERE status <> 'cancelled' AND starts_at IS NOT NULL
       AND starts_at < report_day_start(d + 1, tz)
       AND starts_at > report_day_start(d, tz) - interval '25 hours'
       AND ends_at > report_day_start(d, tz)
$$;

-- Shared lock on each account in a set of changed rows (see report_lock_key).
CREATE FUNCTION report_lock_shared(touched uuid[]) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(report_lock_key(a))
       FROM (SELECT DISTINCT unnest(touched) AS a ORDER BY 1) x;
END
$$;

-- The SQL of a transition: the changed rows with a sign, from the transition tables
-- of this trigger event (`new_rows` +1, `old_rows` -1).
CREATE FUNCTION report_changes(op text, cols text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT CASE op
        WHEN 'INSERT' THEN format('SELECT %s, 1 AS sign FROM new_rows r', cols)
        WHEN 'DELETE' THEN format('SELECT %s, -1 AS sign FROM old_rows r', cols)
        ELSE format('SELECT %s, 1 AS sign FROM new_rows r UNION ALL SELECT %s, -1 AS sign FROM old_rows r', cols, cols)
    END
$$;

-- Visits: today's visits, visits to invoice, completed per technician.
CREATE FUNCTION report_visits_changed() RETURNS trigger
    LANGUAGE plpgsql
    AS $fn$
DECLARE
    changes text := report_changes(TG_OP,
        'r.account_id, r.id, r.job_id, r.status, r.starts_at, r.ends_at, r.completed_at, r.invoice_id');
    touched uuid[];
BEGIN
    EXECUTE format('SELECT array_agg(DISTINCT account_id) FROM (%s) c', changes) INTO touched;
    IF touched IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM report_lock_shared(touched);
    EXECUTE format($q$
        INSERT INTO report_visit_days AS t (account_id, day, visits)
        SELECT c.account_id, d.day, sum(c.sign)
          FROM (%s) c
          JOIN accounts a ON a.id = c.account_id
          CROSS JOIN LATERAL report_visit_days_of(c.status, c.starts_at, c.ends_at, a.time_zone) AS d(day)
         GROUP BY 1, 2 HAVING sum(c.sign) <> 0 ORDER BY 1, 2
        ON CONFLICT (account_id, day) DO UPDATE SET visits = t.visits + excluded.visits
    $q$, changes);
    EXECUTE format($q$
        INSERT INTO report_counters AS t (account_id, visits_to_invoice)
        SELECT c.account_id, sum(c.sign)
          FROM (%s) c
          CROSS JOIN LATERAL (SELECT j.billing FROM jobs j
                               WHERE j.account_id = c.account_id AND j.id = c.job_id OFFSET 0) j
         WHERE c.status = 'completed' AND c.invoice_id IS NULL AND j.billing = 'per_visit'
         GROUP BY 1 HAVING sum(c.sign) <> 0 ORDER BY 1
        ON CONFLICT (account_id) DO UPDATE SET visits_to_invoice = t.visits_to_invoice + excluded.visits_to_invoice
    $q$, changes);
    EXECUTE format($q$
        INSERT INTO report_technician_days AS t (account_id, day, user_id, completed)
        SELECT c.account_id, (c.completed_at AT TIME ZONE a.time_zone)::date, va.user_id, sum(c.sign)
          FROM (%s) c
          JOIN accounts a ON a.id = c.account_id
          CROSS JOIN LATERAL (SELECT va.user_id FROM visit_assignees va
                               WHERE va.account_id = c.account_id AND va.visit_id = c.id OFFSET 0) va
         WHERE c.status = 'completed' AND c.completed_at IS NOT NULL
         GROUP BY 1, 2, 3 HAVING sum(c.sign) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (account_id, day, user_id) DO UPDATE SET completed = t.completed + excluded.completed
    $q$, changes);
    RETURN NULL;
END
$fn$;

-- Assignees: completed per technician. A visit completed by a concurrent
-- transaction must be seen: the visits are locked (share) before they are read, so
-- this waits for such a transaction, and a completion waits for this one and then
-- reads the new assignees. Visits written by this transaction are ours already.
CREATE FUNCTION report_visit_assignees_changed() RETURNS trigger
    LANGUAGE plpgsql
    AS $fn$
DECLARE
    changes text := report_changes(TG_OP, 'r.account_id, r.visit_id, r.user_id');
    touched uuid[];
BEGIN
    EXECUTE format('SELECT array_agg(DISTINCT account_id) FROM (%s) c', changes) INTO touched;
    IF touched IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM report_lock_shared(touched);
    EXECUTE format($q$
        SELECT count(*)
          FROM (SELECT DISTINCT account_id, visit_id FROM (%s) c ORDER BY 1, 2) c
         CROSS JOIN LATERAL (SELECT 1 FROM visits v
                              WHERE v.account_id = c.account_id AND v.id = c.visit_id
                                AND NOT v.xmin = pg_current_xact_id()::xid
                                FOR SHARE) l
    $q$, changes);
    EXECUTE format($q$
        INSERT INTO report_technician_days AS t (account_id, day, user_id, completed)
        SELECT c.account_id, (v.completed_at AT TIME ZONE a.time_zone)::date, c.user_id, sum(c.sign)
          FROM (%s) c
          JOIN accounts a ON a.id = c.account_id
          CROSS JOIN LATERAL (SELECT v.status, v.completed_at FROM visits v
                               WHERE v.account_id = c.account_id AND v.id = c.visit_id OFFSET 0) v
         WHERE v.status = 'completed' AND v.completed_at IS NOT NULL
         GROUP BY 1, 2, 3 HAVING sum(c.sign) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (account_id, day, user_id) DO UPDATE SET completed = t.completed + excluded.completed
    $q$, changes);
    RETURN NULL;
END
$fn$;

-- Jobs: jobs by day and status, jobs to invoice, and, when a job's billing changes,
-- its completed visits not invoiced move in or out of "visits to invoice" (the
-- visits are locked first, as above, so a concurrent completion is not missed).
CREATE FUNCTION report_jobs_changed() RETURNS trigger
    LANGUAGE plpgsql
    AS $fn$
DECLARE
    changes text := report_changes(TG_OP,
        'r.account_id, r.id, r.status, r.billing, r.invoice_id, r.total, r.created_at');
    touched uuid[];
BEGIN
    EXECUTE format('SELECT array_agg(DISTINCT account_id) FROM (%s) c', changes) INTO touched;
    IF touched IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM report_lock_shared(touched);
    EXECUTE format($q$
        INSERT INTO report_job_days AS t (account_id, day, status, jobs, total)
        SELECT c.account_id, (c.created_at AT TIME ZONE a.time_zone)::date, c.status, sum(c.sign), sum(c.sign * c.total::numeric)
          FROM (%s) c
          JOIN accounts a ON a.id = c.account_id
         GROUP BY 1, 2, 3 HAVING sum(c.sign) <> 0 OR sum(c.sign * c.total::numeric) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (account_id, day, status) DO UPDATE SET jobs = t.jobs + excluded.jobs, total = t.total + excluded.total
    $q$, changes);
    EXECUTE format($q$
        INSERT INTO report_counters AS t (account_id, jobs_to_invoice)
        SELECT c.account_id, sum(c.sign)
          FROM (%s) c
         WHERE c.status = 'completed' AND c.billing = 'on_completion' AND c.invoice_id IS NULL
         GROUP BY 1 HAVING sum(c.sign) <> 0 ORDER BY 1
        ON CONFLICT (account_id) DO UPDATE SET jobs_to_invoice = t.jobs_to_invoice + excluded.jobs_to_invoice
    $q$, changes);
    IF TG_OP = 'UPDATE' THEN
        -- Jobs whose billing changed; their visits are locked in key order first.
        PERFORM count(*)
           FROM (SELECT n.account_id, n.id FROM new_rows n JOIN old_rows o ON o.account_id = n.account_id AND o.id = n.id
                  WHERE n.billing <> o.billing ORDER BY 1, 2) b
          CROSS JOIN LATERAL (SELECT 1 FROM visits v WHERE v.account_id = b.account_id AND v.job_id = b.id
                               ORDER BY v.id FOR SHARE) l;
        INSERT INTO report_counters AS t (account_id, visits_to_invoice)
        SELECT b.account_id, sum(CASE WHEN b.billing = 'per_visit' THEN 1 ELSE -1 END * v.n)
          FROM (SELECT n.account_id, n.id, n.billing FROM new_rows n JOIN old_rows o ON o.account_id = n.account_id AND o.id = n.id
                 WHERE n.billing <> o.billing) b
          CROSS JOIN LATERAL (SELECT count(*) AS n FROM visits v
                               WHERE v.account_id = b.account_id AND v.job_id = b.id
                                 AND v.status = 'completed' AND v.invoice_id IS NULL OFFSET 0) v
         GROUP BY 1 HAVING sum(CASE WHEN b.billing = 'per_visit' THEN 1 ELSE -1 END * v.n) <> 0 ORDER BY 1
        ON CONFLICT (account_id) DO UPDATE SET visits_to_invoice = t.visits_to_invoice + excluded.visits_to_invoice;
    END IF;
    RETURN NULL;
END
$fn$;

-- Invoices: open balances by due date.
CREATE FUNCTION report_invoices_changed() RETURNS trigger
    LANGUAGE plpgsql
    AS $fn$
DECLARE
    changes text := report_changes(TG_OP,
        'r.account_id, r.status, r.due_date, r.total, r.amount_paid, r.amount_refunded');
    touched uuid[];
BEGIN
    EXECUTE format('SELECT array_agg(DISTINCT account_id) FROM (%s) c', changes) INTO touched;
    IF touched IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM report_lock_shared(touched);
    EXECUTE format($q$
        INSERT INTO report_open_invoices AS t (account_id, due_date, invoices, balance)
        SELECT c.account_id, c.due_date, sum(c.sign),
               sum(c.sign * (c.total::numeric - c.amount_paid + c.amount_refunded))
          FROM (%s) c
         WHERE c.status IN ('sent', 'partially_paid') AND c.due_date IS NOT NULL
         GROUP BY 1, 2
        HAVING sum(c.sign) <> 0 OR sum(c.sign * (c.total::numeric - c.amount_paid + c.amount_refunded)) <> 0
         ORDER BY 1, 2
        ON CONFLICT (account_id, due_date) DO UPDATE SET invoices = t.invoices + excluded.invoices, balance = t.balance + excluded.balance
    $q$, changes);
    RETURN NULL;
END
$fn$;

-- Payments: collected by local day.
CREATE FUNCTION report_payments_changed() RETURNS trigger
    LANGUAGE plpgsql
    AS $fn$
DECLARE
    changes text := report_changes(TG_OP, 'r.account_id, r.status, r.amount, r.refunded, r.paid_at');
    touched uuid[];
BEGIN
    EXECUTE format('SELECT array_agg(DISTINCT account_id) FROM (%s) c', changes) INTO touched;
    IF touched IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM report_lock_shared(touched);
    EXECUTE format($q$
        INSERT INTO report_payment_days AS t (account_id, day, collected)
        SELECT c.account_id, (c.paid_at AT TIME ZONE a.time_zone)::date, sum(c.sign * (c.amount::numeric - c.refunded))
          FROM (%s) c
          JOIN accounts a ON a.id = c.account_id
         WHERE c.status IN ('succeeded', 'partially_refunded', 'refunded')
         GROUP BY 1, 2 HAVING sum(c.sign * (c.amount::numeric - c.refunded)) <> 0 ORDER BY 1, 2
        ON CONFLICT (account_id, day) DO UPDATE SET collected = t.collected + excluded.collected
    $q$, changes);
    RETURN NULL;
END
$fn$;

DO $$
DECLARE
    t text;
    op text;
BEGIN
    FOREACH t IN ARRAY ARRAY['visits', 'visit_assignees', 'jobs', 'invoices', 'payments'] LOOP
        FOREACH op IN ARRAY ARRAY['INSERT', 'UPDATE', 'DELETE'] LOOP
            EXECUTE format('CREATE TRIGGER %I AFTER %s ON %I REFERENCING %s FOR EACH STATEMENT EXECUTE FUNCTION %I()',
                           t || '_report_' || lower(op), op, t,
                           CASE op WHEN 'INSERT' THEN 'NEW TABLE AS new_rows'
                                   WHEN 'DELETE' THEN 'OLD TABLE AS old_rows'
                                   ELSE 'OLD TABLE AS old_rows NEW TABLE AS new_rows' END,
                           'report_' || t || '_changed');
        END LOOP;
    END LOOP;
END
$$;

-- A visit's or a job's contribution needs the row it joins to: a deleted visit's
-- assignees (completed per technician), a deleted job's billing (visits to
-- invoice). A foreign key's cascade deletes the children after the parent is gone,
-- so these children are deleted first, while the parent is still there to be read.
CREATE FUNCTION report_visit_deleting() RETURNS trigger
    LANGUAGE plpgsql
    AS $fn$
BEGIN
    DELETE FROM visit_assignees WHERE account_id = OLD.account_id AND visit_id = OLD.id;
    RETURN OLD;
END
$fn$;
CREATE TRIGGER visits_report_deleting BEFORE DELETE ON visits
    FOR EACH ROW WHEN (OLD.status = 'completed') EXECUTE FUNCTION report_visit_deleting();

CREATE FUNCTION report_job_deleting() RETURNS trigger
    LANGUAGE plpgsql
    AS $fn$
BEGIN
    DELETE FROM visits WHERE account_id = OLD.account_id AND job_id = OLD.id;
    RETURN OLD;
END
$fn$;
CREATE TRIGGER jobs_report_deleting BEFORE DELETE ON jobs
    FOR EACH ROW WHEN (OLD.billing = 'per_visit') EXECUTE FUNCTION report_job_deleting();

-- Recompute one account's aggregates from the base tables (inside that account's
-- tenant transaction). These queries are the definition the triggers keep up to date.
CREATE FUNCTION report_aggregates_rebuild(account uuid) RETURNS void
    LANGUAGE plpgsql
    AS $fn$
DECLARE
    tz text;
BEGIN
    PERFORM pg_advisory_xact_lock(report_lock_key(account));
    SELECT time_zone INTO tz FROM accounts WHERE id = account;
    IF tz IS NULL THEN
        RAISE EXCEPTION 'account % not found (is this its tenant transaction?)', account;
    END IF;
    DELETE FROM report_counters WHERE account_id = account;
    DELETE FROM report_visit_days WHERE account_id = account;
    DELETE FROM report_open_invoices WHERE account_id = account;
    DELETE FROM report_payment_days WHERE account_id = account;
    DELETE FROM report_job_days WHERE account_id = account;
    DELETE FROM report_technician_days WHERE account_id = account;

    INSERT INTO report_counters (account_id, visits_to_invoice, jobs_to_invoice)
    SELECT account,
           (SELECT count(*) FROM visits v JOIN jobs j ON j.account_id = v.account_id AND j.id = v.job_id
             WHERE v.account_id = account AND v.status = 'completed' AND v.invoice_id IS NULL AND j.billing = 'per_visit'),
           (SELECT count(*) FROM jobs j
             WHERE j.account_id = account AND j.status = 'completed' AND j.billing = 'on_completion' AND j.invoice_id IS NULL);

    INSERT INTO report_visit_days (account_id, day, visits)
    SELECT account, d.day, count(*)
      FROM visits v CROSS JOIN LATERAL report_visit_days_of(v.status, v.starts_at, v.ends_at, tz) AS d(day)
     WHERE v.account_id = account AND v.status <> 'cancelled' AND v.starts_at IS NOT NULL
     GROUP BY d.day;

    INSERT INTO report_open_invoices (account_id, due_date, invoices, balance)
    SELECT account, i.due_date, count(*), sum(i.total::numeric - i.amount_paid + i.amount_refunded)
      FROM invoices i
     WHERE i.account_id = account AND i.status IN ('sent', 'partially_paid') AND i.due_date IS NOT NULL
     GROUP BY i.due_date;

    INSERT INTO report_payment_days (account_id, day, collected)
    SELECT account, (p.paid_at AT TIME ZONE tz)::date, sum(p.amount::numeric - p.refunded)
      FROM payments p
     WHERE p.account_id = account AND p.status IN ('succeeded', 'partially_refunded', 'refunded')
     GROUP BY 2;

    INSERT INTO report_job_days (account_id, day, status, jobs, total)
    SELECT account, (j.created_at AT TIME ZONE tz)::date, j.status, count(*), sum(j.total)
      FROM jobs j
     WHERE j.account_id = account
     GROUP BY 2, 3;

    INSERT INTO report_technician_days (account_id, day, user_id, completed)
    SELECT account, (v.completed_at AT TIME ZONE tz)::date, va.user_id, count(*)
      FROM visits v JOIN visit_assignees va ON va.account_id = v.account_id AND va.visit_id = v.id
     WHERE v.account_id = account AND v.status = 'completed' AND v.completed_at IS NOT NULL
     GROUP BY 2, 3;
END
$fn$;

-- The local days move with the account's time zone: rebuild.
CREATE FUNCTION report_account_zone_changed() RETURNS trigger
    LANGUAGE plpgsql
    AS $fn$
BEGIN
    PERFORM report_aggregates_rebuild(NEW.id);
    RETURN NULL;
END
$fn$;
CREATE TRIGGER accounts_report_zone AFTER UPDATE OF time_zone ON accounts
    FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone)
    EXECUTE FUNCTION report_account_zone_changed();

-- Backfill every account, each confined to itself by its tenant setting (the
-- migrating role may list accounts, migration 14, and sees an account's rows only
-- as that account).
DO $$
DECLARE
    a uuid;
BEGIN
    FOR a IN SELECT id FROM accounts ORDER BY id LOOP
        PERFORM set_config('app.account_id', a::text, true);
        PERFORM report_aggregates_rebuild(a);
    END LOOP;
    PERFORM set_config('app.account_id', '', true);
END
$$;
