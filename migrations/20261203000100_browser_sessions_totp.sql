-- Browser sessions (the web app's `jobber_session` cookie) and TOTP two-factor sign-in
-- (seed §9.2). See src/modules/auth/session.rs and docs/api.md.

-- A browser session: server-side, revocable. The cookie is `account.id.secret`; only
-- a SHA-256 of the secret is stored. A session ends 14 days after it was last seen
-- (sliding: `last_seen_at` moves as it is used) and 90 days after it began
-- (`expires_at`), whichever comes first, or when revoked.
CREATE TABLE sessions (
    account_id    uuid NOT NULL,
    id            uuid NOT NULL,
    user_id       uuid NOT NULL,
    secret_hash   bytea NOT NULL,
    user_agent    text CONSTRAINT sessions_user_agent_length CHECK (length(user_agent) <= 512),
    ip            text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    PRIMARY KEY (account_id, id),
    CONSTRAINT sessions_user_fkey FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_user_idx ON sessions (account_id, user_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY sessions_tenant ON sessions USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());
-- The cleanup task deletes ended sessions across accounts on the owner's connection
-- (see migration 26 for why a DELETE needs the SELECT policy too).
CREATE POLICY sessions_cleanup_read ON sessions FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY sessions_cleanup ON sessions FOR DELETE TO CURRENT_USER USING (true);

-- A user's TOTP secret (RFC 6238), sealed with the server's encryption key
-- (platform::crypto). `enabled_at` is NULL while a set-up waits for its first code.
-- `last_step` is the last 30-second step a code was accepted for: a code is never
-- accepted twice.
CREATE TABLE user_totp (
    account_id     uuid NOT NULL,
    user_id        uuid NOT NULL,
    secret_sealed  bytea NOT NULL,
    enabled_at     timestamptz,
    last_step      bigint,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, user_id),
    CONSTRAINT user_totp_user_fkey FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
ALTER TABLE user_totp ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_totp FORCE ROW LEVEL SECURITY;
CREATE POLICY user_totp_tenant ON user_totp USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());

-- Single-use recovery codes, given once when TOTP is enabled; SHA-256 hashes only.
CREATE TABLE recovery_codes (
    account_id  uuid NOT NULL,
    id          uuid NOT NULL,
    user_id     uuid NOT NULL,
    code_hash   bytea NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    CONSTRAINT recovery_codes_user_fkey FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
CREATE INDEX recovery_codes_user_idx ON recovery_codes (account_id, user_id);
ALTER TABLE recovery_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE recovery_codes FORCE ROW LEVEL SECURITY;
CREATE POLICY recovery_codes_tenant ON recovery_codes USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());

-- The cookie check on every request, in one round trip: a tenant transaction would
-- cost three (BEGIN + tenant, the query, COMMIT) before the handler's own. So the
-- check runs in this SECURITY DEFINER function, called on the owner's connection,
-- owned by jobber_session: a role that owns nothing else, never logs in, may read
-- only the columns below, and whose own policies on the two tables are `true`. The
-- function looks up one session by its primary key, checks its secret hash, its
-- expiry and that its user is active, and returns the user and role; it moves
-- `last_seen_at` at most once a minute (the sliding expiry), so most checks write
-- nothing. Revocation and deactivation take effect on the next request.
DO $$
DECLARE
    superuser boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'jobber_session') THEN
        CREATE ROLE jobber_session NOLOGIN NOSUPERUSER NOINHERIT NOBYPASSRLS;
    END IF;
    -- As in migration 23: a non-superuser (RDS) must be a member to give the
    -- function to the role; the membership is dropped again at the end.
    IF NOT superuser AND NOT pg_has_role(current_user, 'jobber_session', 'MEMBER') THEN
        EXECUTE format('GRANT jobber_session TO %I', current_user);
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO jobber_session;
GRANT SELECT (account_id, id, user_id, secret_hash, last_seen_at, expires_at, revoked_at) ON sessions TO jobber_session;
GRANT UPDATE (last_seen_at) ON sessions TO jobber_session;
GRANT SELECT (account_id, id, role, active) ON users TO jobber_session;
CREATE POLICY sessions_check ON sessions FOR SELECT TO jobber_session USING (true);
CREATE POLICY sessions_touch ON sessions FOR UPDATE TO jobber_session USING (true) WITH CHECK (true);
CREATE POLICY users_session_check ON users FOR SELECT TO jobber_session USING (true);

CREATE FUNCTION session_check(p_account uuid, p_session uuid, p_hash bytea, p_idle_seconds integer)
RETURNS TABLE (user_id uuid, role text)
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $fn$
    WITH found AS (
        SELECT s.user_id, u.role, s.last_seen_at
          FROM sessions s
          JOIN users u ON u.account_id = s.account_id AND u.id = s.user_id
         WHERE s.account_id = p_account AND s.id = p_session AND s.secret_hash = p_hash
           AND s.revoked_at IS NULL AND s.expires_at > now()
           AND s.last_seen_at > now() - make_interval(secs => p_idle_seconds)
           AND u.active
    ), touched AS (
        UPDATE sessions s SET last_seen_at = now()
          FROM found f
         WHERE s.account_id = p_account AND s.id = p_session
           AND f.last_seen_at < now() - interval '1 minute'
        RETURNING 1
    )
    SELECT f.user_id, f.role FROM found f
$fn$;

GRANT CREATE ON SCHEMA public TO jobber_session;
ALTER FUNCTION session_check(uuid, uuid, bytea, integer) OWNER TO jobber_session;
REVOKE CREATE ON SCHEMA public FROM jobber_session;
REVOKE ALL ON FUNCTION session_check(uuid, uuid, bytea, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION session_check(uuid, uuid, bytea, integer) TO CURRENT_USER;

DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND pg_has_role(current_user, 'jobber_session', 'MEMBER') THEN
        EXECUTE format('REVOKE jobber_session FROM %I', current_user);
    END IF;
END
$$;
