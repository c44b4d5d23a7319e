-- Files uploaded ahead of the request that uses them (POST /uploads): a technician on
-- a flaky connection uploads a photo (retryable), then attaches it with a small JSON
-- request. The bytes live in file storage at storage_key (seed §7.1 uploads/temp/);
-- using an upload deletes its row; an unused one expires (after 24 hours) and the
-- hourly purge_temp_uploads task deletes it and its file.
CREATE TABLE temp_uploads (
    account_id    uuid NOT NULL REFERENCES accounts (id),
    id            uuid NOT NULL,
    storage_key   text NOT NULL,
    filename      text NOT NULL,
    content_type  text NOT NULL,
    bytes         bigint NOT NULL,
    uploaded_by   uuid NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    PRIMARY KEY (account_id, id),
    CONSTRAINT temp_uploads_uploaded_by_fkey FOREIGN KEY (account_id, uploaded_by) REFERENCES users (account_id, id) ON DELETE CASCADE
);
-- The purge finds expired uploads across accounts.
CREATE INDEX temp_uploads_expires_idx ON temp_uploads (expires_at);
ALTER TABLE temp_uploads ENABLE ROW LEVEL SECURITY;
ALTER TABLE temp_uploads FORCE ROW LEVEL SECURITY;
CREATE POLICY temp_uploads_tenant ON temp_uploads USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());

-- The purge runs across accounts on the runner's connection, as the role that owns
-- and migrates the schema, which FORCE subjects to row-level security unless it is a
-- superuser (it is not on RDS). A DELETE whose WHERE reads columns also needs a
-- SELECT policy, or it silently deletes nothing; the orphan-file sweep reads too.
CREATE POLICY temp_uploads_purge_read ON temp_uploads FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY temp_uploads_purge ON temp_uploads FOR DELETE TO CURRENT_USER USING (true);
