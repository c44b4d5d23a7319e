-- Typo-tolerant client search through a dictionary of each account's words.
--
-- Until now a typo was caught with pg_trgm's `<%` against the clients' whole search
-- text. Through the trigram index that operator accepts every row sharing enough of
-- the term's trigrams with *any* word of the row, so a term whose trigrams are common
-- (`maple`: "ma" as in "main", "ple" as in "example") made the index return every
-- client and the search recheck them all: 1.4 s for one request at scale 100, and
-- under 64 concurrent searches every request timed out (docs/performance.md, "Client
-- search").
--
-- The usual cure (pg_trgm's documentation: a word list for spelling suggestions):
-- `search_words` holds the distinct words of each account's client and property
-- search texts. A search first looks up the few words most similar to the term there
-- (a small table, a trigram index, whole words compared with whole words), then finds
-- the clients with an exact `LIKE` on those words, which the trigram index answers
-- precisely. Words are kept by row triggers on `clients` and `properties`; one
-- left over after an edit only costs a lookup that finds nothing.
--
-- No unique constraint: a writer adds the words it does not find, and two writers
-- adding the same new word at once both keep it (the lookup reads distinct words).
-- With a unique key the second would wait for the first to commit, and two that add
-- two new words in opposite orders would deadlock.

CREATE TABLE search_words (
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    word       text NOT NULL
);
CREATE INDEX search_words_word_idx ON search_words (account_id, word);
CREATE INDEX search_words_trgm_idx ON search_words USING gin (word gin_trgm_ops);
ALTER TABLE search_words ENABLE ROW LEVEL SECURITY;
ALTER TABLE search_words FORCE ROW LEVEL SECURITY;
CREATE POLICY search_words_tenant ON search_words
    USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());
-- Read by `search_client_ids` (owned by jobber_search), which filters the account
-- itself, as it does for clients and properties (migration 23).
GRANT SELECT ON search_words TO jobber_search;
CREATE POLICY search_words_search ON search_words FOR SELECT TO jobber_search USING (true);

-- The words of a search text: split at white space and ASCII punctuation (so no word
-- holds a LIKE wildcard or escape), without digits (phone numbers, postcodes and
-- house numbers are matched exactly), 3 to 40 characters. Used by the backfill
-- below; the trigger spells the same split out, since a set-returning SQL function
-- called per row costs an executor start each time (9 % of the machine's CPU during
-- a run of client creations, when a trigger called it).
CREATE FUNCTION search_words_of(search_text text) RETURNS SETOF text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
        SELECT DISTINCT w FROM regexp_split_to_table(search_text, '[[:space:]!-/:-@[-`{-~]+') AS w
        WHERE length(w) BETWEEN 3 AND 40 AND w !~ '[0-9]'
    $$;

-- A row trigger: an update that leaves the search text alone (most of them: a
-- version, an avatar, a status) does not even call it.
CREATE FUNCTION search_words_keep() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO search_words (account_id, word)
    SELECT NEW.account_id, t.w
      FROM (SELECT DISTINCT w FROM regexp_split_to_table(NEW.search_text, '[[:space:]!-/:-@[-`{-~]+') AS w) t
     WHERE length(t.w) BETWEEN 3 AND 40 AND t.w !~ '[0-9]'
       AND NOT EXISTS (SELECT 1 FROM search_words s WHERE s.account_id = NEW.account_id AND s.word = t.w);
    RETURN NULL;
END
$$;

CREATE TRIGGER clients_search_words AFTER INSERT ON clients
    FOR EACH ROW EXECUTE FUNCTION search_words_keep();
CREATE TRIGGER clients_search_words_changed AFTER UPDATE ON clients
    FOR EACH ROW WHEN (OLD.search_text IS DISTINCT FROM NEW.search_text)
    EXECUTE FUNCTION search_words_keep();
CREATE TRIGGER properties_search_words AFTER INSERT ON properties
    FOR EACH ROW EXECUTE FUNCTION search_words_keep();
CREATE TRIGGER properties_search_words_changed AFTER UPDATE ON properties
    FOR EACH ROW WHEN (OLD.search_text IS DISTINCT FROM NEW.search_text)
    EXECUTE FUNCTION search_words_keep();

-- The words of what exists. The migration runs as the tables' owner, to which FORCE
-- applies row-level security too: each account's rows are read and its words written
-- under its own id (the owner reads every account through `accounts_runner_read`).
DO $$
DECLARE
    account uuid;
BEGIN
    FOR account IN SELECT id FROM accounts LOOP
        PERFORM set_config('app.account_id', account::text, true);
        INSERT INTO search_words (account_id, word)
        SELECT DISTINCT account, w FROM (
            SELECT search_text FROM clients WHERE account_id = account
            UNION ALL
            SELECT search_text FROM properties WHERE account_id = account
        ) t, search_words_of(t.search_text) AS w;
    END LOOP;
    PERFORM set_config('app.account_id', '', true);
END
$$;

-- The search. What matches the term as typed comes first and alone: a client named
-- Marcia does not turn up among the Garcias. Only when nothing matches as typed is it
-- read as a typo: `words` (the lower-cased term, one word) is compared with the
-- account's words, and the 8 closest (trigram similarity at least pg_trgm's 0.3:
-- "jonson" finds "jonsson", "okonkow" finds "okonkwo") are searched for as typed.
-- A later page (a cursor) of a typo search is one whose term matches nothing as
-- typed anywhere.
DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND NOT pg_has_role(current_user, 'jobber_search', 'MEMBER') THEN
        EXECUTE format('GRANT jobber_search TO %I', current_user);
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION search_client_ids(
    pattern text, words text, digits text, status text, tag text, before uuid, max_rows integer
) RETURNS TABLE (id uuid)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
    ROWS 50
AS $fn$
DECLARE
    account uuid := app_account_id();
    found uuid[];
    near text[] := '{}';
BEGIN
    IF account IS NULL THEN
        RETURN;
    END IF;
    LOOP
        -- 1. Walk the newest 2000 clients: a common term fills the page among them,
        --    and walking is the fastest way to the newest matches.
        EXECUTE
            'SELECT array_agg(id) FROM (SELECT c.id FROM (
                 SELECT c.id, c.search_text FROM clients c
                  WHERE c.account_id = $1
                    AND ($5::text IS NULL OR c.status = $5)
                    AND ($6::text IS NULL OR EXISTS (SELECT 1 FROM unnest(c.tags) t WHERE lower(t) = lower($6)))
                    AND ($7::uuid IS NULL OR c.id < $7)
                  ORDER BY c.id DESC LIMIT 2000) c
              WHERE c.search_text LIKE $2
                 OR c.search_text LIKE ANY ($3)
                 OR c.search_text LIKE coalesce($4, $2)
                 OR EXISTS (SELECT 1 FROM properties p
                             WHERE p.account_id = $1 AND p.client_id = c.id
                               AND (p.search_text LIKE $2 OR p.search_text LIKE ANY ($3)))
              ORDER BY c.id DESC
              LIMIT $8) page'
            INTO found
            USING account, pattern, near, digits, status, tag, before, max_rows;
        IF cardinality(found) >= max_rows THEN
            RETURN QUERY SELECT unnest(found);
            RETURN;
        END IF;
        -- 2. A rarer term: the trigram indexes find every match (ids of the clients
        --    and of the properties' clients, a BitmapOr and a union), and the newest
        --    are kept. One query with the property match as an OR cannot use them.
        EXECUTE
            'SELECT array_agg(id) FROM (SELECT c.id FROM clients c
              WHERE c.account_id = $1
                AND c.id IN (SELECT m.id FROM clients m
                              WHERE m.account_id = $1
                                AND (m.search_text LIKE $2 OR m.search_text LIKE ANY ($3) OR m.search_text LIKE coalesce($4, $2))
                             UNION
                             SELECT p.client_id FROM properties p
                              WHERE p.account_id = $1 AND (p.search_text LIKE $2 OR p.search_text LIKE ANY ($3)))
                AND ($5::text IS NULL OR c.status = $5)
                AND ($6::text IS NULL OR EXISTS (SELECT 1 FROM unnest(c.tags) t WHERE lower(t) = lower($6)))
                AND ($7::uuid IS NULL OR c.id < $7)
              ORDER BY c.id DESC
              LIMIT $8) page'
            INTO found
            USING account, pattern, near, digits, status, tag, before, max_rows;
        IF cardinality(found) > 0 OR cardinality(near) > 0 THEN
            RETURN QUERY SELECT unnest(found);
            RETURN;
        END IF;
        -- 3. Nothing matches as typed here. A typo, if nothing does on any page and
        --    the term is one word: search again for the account's closest words.
        IF words IS NULL OR words ~ '[[:space:]]' OR length(words) < 3 THEN
            RETURN;
        END IF;
        IF before IS NOT NULL
           AND EXISTS (SELECT 1 FROM search_client_ids(pattern, NULL, digits, status, tag, NULL, 1)) THEN
            RETURN;
        END IF;
        SELECT coalesce(array_agg('%' || s.word || '%'), '{}') INTO near FROM (
            SELECT DISTINCT w.word, similarity(w.word, words) AS score FROM search_words w
             WHERE w.account_id = account AND w.word % words AND w.word <> words
             ORDER BY score DESC, w.word
             LIMIT 8) s;
        IF cardinality(near) = 0 THEN
            RETURN;
        END IF;
    END LOOP;
END
$fn$;

DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND pg_has_role(current_user, 'jobber_search', 'MEMBER') THEN
        EXECUTE format('REVOKE jobber_search FROM %I', current_user);
    END IF;
END
$$;
