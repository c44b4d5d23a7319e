-- Accounts (the tenants), their users, sessions, the activity log and idempotency keys.

CREATE TABLE accounts (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CONSTRAINT accounts_name_length CHECK (length(name) BETWEEN 1 AND 200),
    time_zone   text NOT NULL,
    currency    char(3) NOT NULL,
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER accounts_updated_at BEFORE UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION set_updated_at();
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY accounts_tenant ON accounts USING (id = app_account_id()) WITH CHECK (id = app_account_id());

CREATE TABLE users (
    account_id     uuid NOT NULL REFERENCES accounts (id),
    id             uuid NOT NULL,
    email          text NOT NULL,
    name           text NOT NULL,
    role           text NOT NULL CONSTRAINT users_role_check CHECK (role IN ('owner', 'admin', 'dispatcher', 'technician')),
    password_hash  text NOT NULL,
    active         boolean NOT NULL DEFAULT true,
    last_login_at  timestamptz,
    version        integer NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    CONSTRAINT users_account_email_key UNIQUE (account_id, email)
);
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION set_updated_at();
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY users_tenant ON users USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());

-- The one global directory: which account a login email belongs to, so that login can
-- find the tenant before it opens a tenant transaction. It holds no secret; rows can be
-- read by anyone but written only for the current account. Emails are stored lower-case.
CREATE TABLE user_logins (
    email       text PRIMARY KEY CONSTRAINT user_logins_email_lower CHECK (email = lower(email)),
    account_id  uuid NOT NULL,
    user_id     uuid NOT NULL,
    CONSTRAINT user_logins_user_fkey FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
CREATE INDEX user_logins_user_idx ON user_logins (account_id, user_id);
ALTER TABLE user_logins ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_logins FORCE ROW LEVEL SECURITY;
CREATE POLICY user_logins_lookup ON user_logins FOR SELECT USING (true);
CREATE POLICY user_logins_insert ON user_logins FOR INSERT WITH CHECK (account_id = app_account_id());
CREATE POLICY user_logins_update ON user_logins FOR UPDATE USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());
CREATE POLICY user_logins_delete ON user_logins FOR DELETE USING (account_id = app_account_id());

-- Refresh tokens rotate on every use; a family is one login. Reusing a rotated token
-- revokes the whole family (RFC 9700 §4.14.2). Only a SHA-256 of the secret is stored.
CREATE TABLE refresh_tokens (
    account_id  uuid NOT NULL,
    id          uuid NOT NULL,
    family_id   uuid NOT NULL,
    user_id     uuid NOT NULL,
    token_hash  bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    rotated_at  timestamptz,
    revoked_at  timestamptz,
    PRIMARY KEY (account_id, id),
    CONSTRAINT refresh_tokens_user_fkey FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (account_id, family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (account_id, user_id);
ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY refresh_tokens_tenant ON refresh_tokens USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());

-- Who did what to which record. Written in the same transaction as the change.
CREATE TABLE activity (
    account_id   uuid NOT NULL REFERENCES accounts (id),
    id           uuid NOT NULL,
    subject_type text NOT NULL,
    subject_id   uuid NOT NULL,
    -- The client a record belongs to, so a client's history includes its properties.
    client_id    uuid,
    action       text NOT NULL,
    actor_id     uuid,
    changes      jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id)
);
CREATE INDEX activity_subject_idx ON activity (account_id, subject_type, subject_id, id DESC);
CREATE INDEX activity_client_idx ON activity (account_id, client_id, id DESC) WHERE client_id IS NOT NULL;
ALTER TABLE activity ENABLE ROW LEVEL SECURITY;
ALTER TABLE activity FORCE ROW LEVEL SECURITY;
CREATE POLICY activity_tenant ON activity USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());

CREATE TABLE idempotency_keys (
    account_id             uuid NOT NULL REFERENCES accounts (id),
    key                    text NOT NULL,
    user_id                uuid NOT NULL,
    request_hash           bytea NOT NULL,
    response_status        smallint,
    response_body          bytea,
    response_content_type  text,
    -- Location and ETag of the stored response, replayed with it.
    response_headers       jsonb NOT NULL DEFAULT '{}',
    created_at             timestamptz NOT NULL DEFAULT now(),
    completed_at           timestamptz,
    PRIMARY KEY (account_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY idempotency_keys_tenant ON idempotency_keys USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());
