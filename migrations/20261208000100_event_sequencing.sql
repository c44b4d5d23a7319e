-- Writers of one account no longer wait for each other on the account's sequence
-- (docs/design.md "Numbering events"). Until now each write numbered its events in
-- its own transaction by updating the account's `event_sequences` row, which stayed
-- locked through the COMMIT: two writes of one account could never commit together.
--
-- Now a write inserts its events unnumbered (`seq` NULL, ordered by the global `id`),
-- and after its COMMIT a short *sequencing* transaction (`events_number`) numbers the
-- account's committed, unnumbered events in one statement, so one sequencing commit
-- covers every write that committed meanwhile. Sequencing transactions of an account
-- are serialized (an advisory lock, then the `event_sequences` row), so numbers are
-- still given in commit order of the numbering: a reader that has seen `seq` N never
-- later meets a smaller one. Readers (resume, the relay) read numbered rows only.
ALTER TABLE events DROP CONSTRAINT events_pkey;
ALTER TABLE events ALTER COLUMN seq DROP NOT NULL;
ALTER TABLE events ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;
CREATE UNIQUE INDEX events_seq_key ON events (account_id, seq);
-- What is left to number: read by every sequencing and by the sweep.
CREATE INDEX events_unnumbered_idx ON events (account_id, id) WHERE seq IS NULL;

-- The sequencer and the sweep run on the owner's connection (like the purge), across
-- accounts: they number rows and move the account's counter.
CREATE POLICY events_sequence ON events FOR UPDATE TO CURRENT_USER USING (true);
CREATE POLICY event_sequences_sequence ON event_sequences TO CURRENT_USER
    USING (true) WITH CHECK (true);

-- Number the account's committed, unnumbered events (at most `max_count`, oldest
-- first) after its last number, and return the range given (no row when there was
-- nothing to number). Serialized per account by a transaction advisory lock taken
-- before anything is written, so a sequencing that finds its work done by the one
-- before it writes nothing and commits without a WAL flush; the `event_sequences`
-- row, updated under it, also keeps a writer of an older binary (which numbers in
-- its own transaction under that row's lock) in line during a rolling upgrade.
-- Each statement of this (volatile) function sees every commit before it began:
-- after the lock, the previous sequencing's numbers are visible.
CREATE FUNCTION events_number(account uuid, max_count integer)
    RETURNS TABLE (first bigint, last bigint)
    LANGUAGE plpgsql
    AS $$
DECLARE
    taken bigint;
    numbered bigint;
BEGIN
    PERFORM 1 FROM events e WHERE e.account_id = account AND e.seq IS NULL LIMIT 1;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('jobber_events:' || account::text, 0));
    PERFORM 1 FROM events e WHERE e.account_id = account AND e.seq IS NULL LIMIT 1;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    INSERT INTO event_sequences AS s (account_id, last_seq) VALUES (account, 0)
        ON CONFLICT (account_id) DO UPDATE SET last_seq = s.last_seq
        RETURNING s.last_seq INTO taken;
    WITH pending AS (
        SELECT e.id, row_number() OVER (ORDER BY e.id) AS n FROM events e
        WHERE e.account_id = account AND e.seq IS NULL
        ORDER BY e.id LIMIT max_count
    ), done AS (
        UPDATE events e SET seq = taken + p.n FROM pending p
        WHERE e.id = p.id AND e.seq IS NULL
        RETURNING e.seq
    )
    SELECT count(*) INTO numbered FROM done;
    IF numbered = 0 THEN
        RETURN;
    END IF;
    UPDATE event_sequences s SET last_seq = taken + numbered WHERE s.account_id = account;
    first := taken + 1;
    last := taken + numbered;
    RETURN NEXT;
END
$$;

-- NOTIFY when events get their numbers (in the sequencing transaction, so on its
-- commit), and as before for rows inserted already numbered. The payload is
-- unchanged: `account:first:last`.
CREATE OR REPLACE FUNCTION events_notify() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    written record;
BEGIN
    FOR written IN
        SELECT account_id, min(seq) AS first, max(seq) AS last FROM changed
        WHERE seq IS NOT NULL GROUP BY account_id
    LOOP
        PERFORM pg_notify('jobber_events', written.account_id::text || ':' || written.first || ':' || written.last);
    END LOOP;
    RETURN NULL;
END
$$;
DROP TRIGGER events_notify ON events;
CREATE TRIGGER events_notify AFTER INSERT ON events
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION events_notify();
CREATE TRIGGER events_numbered AFTER UPDATE ON events
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION events_notify();
