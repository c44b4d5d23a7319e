-- Domain events (ARCHITECTURE §2 "events"): what a committed change did, in the order
-- the account's changes committed. Written by the change's own transaction, so a
-- rollback leaves none; read back by every instance after the NOTIFY of the commit
-- (WebSocket clients, caches) and by clients resuming after a reconnect (kept 7 days).

-- The last sequence number given out per account. Taking the next ones locks the
-- account's row until the writing transaction ends, so numbers are given in commit
-- order: a reader that has seen `seq` never later meets a smaller one committing.
CREATE TABLE event_sequences (
    account_id  uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    last_seq    bigint NOT NULL
);
ALTER TABLE event_sequences ENABLE ROW LEVEL SECURITY;
ALTER TABLE event_sequences FORCE ROW LEVEL SECURITY;
CREATE POLICY event_sequences_tenant ON event_sequences TO jobber_app
    USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());

CREATE TABLE events (
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    seq         bigint NOT NULL,
    -- Versioned name: `client.updated`, `quote.approved`, …
    type        text NOT NULL,
    data        jsonb NOT NULL,
    -- Who made the change: {"user": id} | {"hub": link subject} | {"system": task}.
    actor       jsonb,
    request_id  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, seq)
);
CREATE INDEX events_created_idx ON events (created_at);
ALTER TABLE events ENABLE ROW LEVEL SECURITY;
ALTER TABLE events FORCE ROW LEVEL SECURITY;
CREATE POLICY events_tenant ON events TO jobber_app
    USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());
-- The daily purge runs on the owner's connection across accounts; a DELETE … WHERE
-- needs to see the rows it tests (migration 26).
CREATE POLICY events_cleanup ON events FOR DELETE TO CURRENT_USER USING (true);
CREATE POLICY events_cleanup_read ON events FOR SELECT TO CURRENT_USER USING (true);

-- NOTIFY is transactional: listeners hear of events only when their transaction
-- commits. The payload names the account and the range of sequence numbers written,
-- and listeners read the rows, so PostgreSQL's 8 kB payload limit never matters.
CREATE FUNCTION events_notify() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    written record;
BEGIN
    FOR written IN
        SELECT account_id, min(seq) AS first, max(seq) AS last FROM inserted GROUP BY account_id
    LOOP
        PERFORM pg_notify('jobber_events', written.account_id::text || ':' || written.first || ':' || written.last);
    END LOOP;
    RETURN NULL;
END
$$;
CREATE TRIGGER events_notify AFTER INSERT ON events
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION events_notify();
