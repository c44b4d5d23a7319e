-- Photos and documents attached to a job (optionally to one of its visits). The
-- bytes live in file storage at storage_key (seed §7.1); this is their record.
CREATE TABLE job_attachments (
    account_id    uuid NOT NULL REFERENCES accounts (id),
    id            uuid NOT NULL,
    job_id        uuid NOT NULL,
    visit_id      uuid,
    storage_key   text NOT NULL,
    filename      text NOT NULL,
    content_type  text NOT NULL,
    bytes         bigint NOT NULL,
    uploaded_by   uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    CONSTRAINT job_attachments_job_fkey FOREIGN KEY (account_id, job_id) REFERENCES jobs (account_id, id) ON DELETE CASCADE,
    CONSTRAINT job_attachments_visit_fkey FOREIGN KEY (account_id, visit_id) REFERENCES visits (account_id, id) ON DELETE SET NULL (visit_id)
);
CREATE INDEX job_attachments_job_idx ON job_attachments (account_id, job_id, id);
ALTER TABLE job_attachments ENABLE ROW LEVEL SECURITY;
ALTER TABLE job_attachments FORCE ROW LEVEL SECURITY;
CREATE POLICY job_attachments_tenant ON job_attachments USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());
