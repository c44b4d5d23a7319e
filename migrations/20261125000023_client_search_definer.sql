-- Client search that can use the trigram indexes under row-level security.
--
-- LIKE and pg_trgm's <% are not LEAKPROOF, so for jobber_app PostgreSQL applies the
-- tenant policy first and never uses clients_search_idx or properties_search_idx: a
-- rare term walked every client of the account (docs/performance.md). The search
-- therefore runs in a SECURITY DEFINER function owned by jobber_search, a role that
-- owns nothing else, logs in never, and whose own policy on the two tables is
-- `true`. The function filters the account itself (app_account_id(): the caller's
-- tenant transaction; nothing outside one) and returns ids only; the API then reads
-- the rows as jobber_app, under the tenant policy as always.
--
-- A common term is found fastest by walking the newest clients, a rare one only
-- through the trigram indexes, and no single plan does both: the function walks the
-- newest 2000 clients first and turns to the indexes when they hold less than a page
-- of matches. Its queries are planned with the actual values (EXECUTE … USING).

DO $$
DECLARE
    superuser boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'jobber_search') THEN
        CREATE ROLE jobber_search NOLOGIN NOSUPERUSER NOINHERIT NOBYPASSRLS;
    END IF;
    -- A non-superuser (RDS) must be a member to give the function to the role below;
    -- the membership is dropped again at the end, so the connection's own queries
    -- never get the role's `true` policy.
    IF NOT superuser AND NOT pg_has_role(current_user, 'jobber_search', 'MEMBER') THEN
        EXECUTE format('GRANT jobber_search TO %I', current_user);
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO jobber_search;
GRANT SELECT (account_id, id, status, tags, search_text) ON clients TO jobber_search;
GRANT SELECT (account_id, client_id, search_text) ON properties TO jobber_search;
GRANT EXECUTE ON FUNCTION app_account_id() TO jobber_search;
CREATE POLICY clients_search ON clients FOR SELECT TO jobber_search USING (true);
CREATE POLICY properties_search ON properties FOR SELECT TO jobber_search USING (true);

-- The ids of the current account's clients matching a search, newest first: those
-- whose own text matches `pattern` (LIKE), is close to `words` (<%), or matches
-- `digits` (a phone number typed with punctuation), or who have a property whose
-- address matches `pattern`; with the listing's other filters, cursor and limit.
-- Measured at scale 100 (docs/performance.md): a common term 20 ms, a term found
-- nowhere 25 ms (1,070 ms as one query).
CREATE FUNCTION search_client_ids(
    pattern text, words text, digits text, status text, tag text, before uuid, max_rows integer
) RETURNS TABLE (id uuid)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
    ROWS 50
AS $fn$
DECLARE
    account uuid := app_account_id();
    newest uuid[];
BEGIN
    IF account IS NULL THEN
        RETURN;
    END IF;
    -- 1. Walk the newest 2000 clients: a common term fills the page among them, and
    --    walking is the fastest way to the newest matches.
    EXECUTE
        'SELECT array_agg(id) FROM (SELECT c.id FROM (
             SELECT c.id, c.search_text FROM clients c
              WHERE c.account_id = $1
                AND ($5::text IS NULL OR c.status = $5)
                AND ($6::text IS NULL OR EXISTS (SELECT 1 FROM unnest(c.tags) t WHERE lower(t) = lower($6)))
                AND ($7::uuid IS NULL OR c.id < $7)
              ORDER BY c.id DESC LIMIT 2000) c
          WHERE c.search_text LIKE $2
             OR $3 <% c.search_text
             OR c.search_text LIKE coalesce($4, $2)
             OR EXISTS (SELECT 1 FROM properties p
                         WHERE p.account_id = $1 AND p.client_id = c.id AND p.search_text LIKE $2)
          ORDER BY c.id DESC
          LIMIT $8) page'
        INTO newest
        USING account, pattern, words, digits, status, tag, before, max_rows;
    IF cardinality(newest) >= max_rows THEN
        RETURN QUERY SELECT unnest(newest);
        RETURN;
    END IF;
    -- 2. A rarer term: the trigram indexes find every match (ids of the clients and
    --    of the properties' clients, a BitmapOr and a union), and the newest are kept.
    --    One query with the property match as an OR cannot use them at all.
    RETURN QUERY EXECUTE
        'SELECT c.id FROM clients c
          WHERE c.account_id = $1
            AND c.id IN (SELECT m.id FROM clients m
                          WHERE m.account_id = $1
                            AND (m.search_text LIKE $2 OR $3 <% m.search_text OR m.search_text LIKE coalesce($4, $2))
                         UNION
                         SELECT p.client_id FROM properties p
                          WHERE p.account_id = $1 AND p.search_text LIKE $2)
            AND ($5::text IS NULL OR c.status = $5)
            AND ($6::text IS NULL OR EXISTS (SELECT 1 FROM unnest(c.tags) t WHERE lower(t) = lower($6)))
            AND ($7::uuid IS NULL OR c.id < $7)
          ORDER BY c.id DESC
          LIMIT $8'
        USING account, pattern, words, digits, status, tag, before, max_rows;
END
$fn$;

-- A new owner needs CREATE on the schema (which a superuser would not check); it
-- keeps the function without it.
GRANT CREATE ON SCHEMA public TO jobber_search;
ALTER FUNCTION search_client_ids(text, text, text, text, text, uuid, integer) OWNER TO jobber_search;
REVOKE CREATE ON SCHEMA public FROM jobber_search;
REVOKE ALL ON FUNCTION search_client_ids(text, text, text, text, text, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION search_client_ids(text, text, text, text, text, uuid, integer) TO jobber_app;

DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND pg_has_role(current_user, 'jobber_search', 'MEMBER') THEN
        EXECUTE format('REVOKE jobber_search FROM %I', current_user);
    END IF;
END
$$;
