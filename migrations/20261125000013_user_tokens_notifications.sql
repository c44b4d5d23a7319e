-- Invited team members have no password until they accept their invitation.
ALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL;

-- Single-use, expiring tokens sent by email: password resets and team invitations.
-- Only a SHA-256 of the secret is stored; a token is `account.id.secret` like a
-- refresh token, so it finds its tenant before the tenant transaction opens.
CREATE TABLE user_tokens (
    account_id  uuid NOT NULL,
    id          uuid NOT NULL,
    user_id     uuid NOT NULL,
    purpose     text NOT NULL CONSTRAINT user_tokens_purpose_check CHECK (purpose IN ('password_reset', 'invitation')),
    token_hash  bytea NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_by  uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    CONSTRAINT user_tokens_user_fkey FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
CREATE INDEX user_tokens_user_idx ON user_tokens (account_id, user_id, purpose) WHERE used_at IS NULL;
CREATE INDEX user_tokens_expires_idx ON user_tokens (expires_at);
ALTER TABLE user_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY user_tokens_tenant ON user_tokens USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());

-- In-app notifications for staff: one row per recipient.
CREATE TABLE notifications (
    account_id    uuid NOT NULL,
    id            uuid NOT NULL,
    user_id       uuid NOT NULL,
    -- quote_approved, quote_changes_requested, invoice_paid, visit_completed, message_received
    kind          text NOT NULL,
    title         text NOT NULL,
    body          text,
    -- The record it is about, e.g. ('quote', id).
    subject_type  text,
    subject_id    uuid,
    read_at       timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    CONSTRAINT notifications_user_fkey FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
CREATE INDEX notifications_user_idx ON notifications (account_id, user_id, id DESC);
CREATE INDEX notifications_unread_idx ON notifications (account_id, user_id) WHERE read_at IS NULL;
ALTER TABLE notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE notifications FORCE ROW LEVEL SECURITY;
CREATE POLICY notifications_tenant ON notifications USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());
