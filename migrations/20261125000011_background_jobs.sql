-- Background work (ARCHITECTURE §2, seed §6): the transactional job outbox, email
-- delivery leases and the cron ledger. The queue itself (apalis) keeps its tables in
-- schema `apalis`, created by its own migrations that run after these.

-- A job enqueued by a business transaction. Written in that transaction, so a change
-- that rolls back enqueues nothing; the relay (worker role) pushes committed rows to
-- apalis with the row id as idempotency key and stamps relayed_at.
CREATE TABLE job_outbox (
    account_id  uuid NOT NULL REFERENCES accounts (id),
    id          uuid NOT NULL,
    queue       text NOT NULL CONSTRAINT job_outbox_queue_check CHECK (queue IN (
        'notifications.high', 'notifications.standard', 'pdf.generation', 'image.processing',
        'email.send', 'sms.send', 'payment.processing', 'sync.quickbooks',
        'reports.generation', 'cleanup')),
    payload     jsonb NOT NULL,
    run_at      timestamptz NOT NULL DEFAULT now(),
    created_at  timestamptz NOT NULL DEFAULT now(),
    relayed_at  timestamptz,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX job_outbox_pending_idx ON job_outbox (created_at) WHERE relayed_at IS NULL;
CREATE INDEX job_outbox_relayed_idx ON job_outbox (relayed_at) WHERE relayed_at IS NOT NULL;
ALTER TABLE job_outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE job_outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY job_outbox_tenant ON job_outbox TO jobber_app
    USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());
-- The relay and the cleanup run on the owner's connection across accounts; the owner
-- is the role running this migration (a superuser bypasses RLS anyway).
CREATE POLICY job_outbox_relay ON job_outbox TO CURRENT_USER USING (true) WITH CHECK (true);

-- NOTIFY is transactional: the relay hears of a row only when its transaction commits.
CREATE FUNCTION job_outbox_notify() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM pg_notify('jobber_job_outbox', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER job_outbox_notify AFTER INSERT ON job_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION job_outbox_notify();

-- Email delivery claims a message before talking to SMTP: status 'sending' with a
-- lease. A worker that dies mid-send leaves the lease to expire and the message is
-- claimed again; a 'sent' message is never claimed again. provider_id is the
-- Message-ID jobber gave it (and the SMTP server accepted).
ALTER TABLE messages ADD COLUMN lease_until timestamptz;
ALTER TABLE messages ADD COLUMN provider_id text;

-- Scheduled tasks: one row per (task, time slot). Inserting the row is the claim, so
-- across several worker pods each slot runs once.
CREATE TABLE cron_runs (
    name         text NOT NULL,
    slot         timestamptz NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    error        text,
    affected     bigint,
    PRIMARY KEY (name, slot)
);
REVOKE ALL ON cron_runs FROM jobber_app;

-- The cron cleanup deletes across accounts on the owner's connection.
CREATE POLICY idempotency_keys_cleanup ON idempotency_keys FOR DELETE TO CURRENT_USER USING (true);
CREATE POLICY refresh_tokens_cleanup ON refresh_tokens FOR DELETE TO CURRENT_USER USING (true);
