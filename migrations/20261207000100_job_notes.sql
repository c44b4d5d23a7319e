-- Notes the office keeps on a job (issue 12): who wrote what, and when. A visit's
-- own note (what the technician writes in the field) stays `visits.notes`.
CREATE TABLE job_notes (
    account_id  uuid NOT NULL REFERENCES accounts (id),
    id          uuid NOT NULL,
    job_id      uuid NOT NULL,
    -- Null once the author's user row is gone (users are deactivated, not deleted).
    author_id   uuid,
    body        text NOT NULL CONSTRAINT job_notes_body_length CHECK (char_length(body) BETWEEN 1 AND 5000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    CONSTRAINT job_notes_job_fkey FOREIGN KEY (account_id, job_id) REFERENCES jobs (account_id, id) ON DELETE CASCADE,
    CONSTRAINT job_notes_author_fkey FOREIGN KEY (account_id, author_id) REFERENCES users (account_id, id) ON DELETE SET NULL (author_id)
);
CREATE TRIGGER job_notes_updated_at BEFORE UPDATE ON job_notes FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE INDEX job_notes_job_idx ON job_notes (account_id, job_id, created_at);
ALTER TABLE job_notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE job_notes FORCE ROW LEVEL SECURITY;
CREATE POLICY job_notes_tenant ON job_notes USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());
