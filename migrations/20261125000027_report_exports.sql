-- CSV exports made by the reports.generation queue: invoices, payments or clients,
-- requested by office staff and downloadable for 7 days (the file is at storage_key,
-- `uploads/{accountId}/reports/{exportId}.csv`).
CREATE TABLE report_exports (
    account_id    uuid NOT NULL REFERENCES accounts (id),
    id            uuid NOT NULL,
    kind          text NOT NULL CONSTRAINT report_exports_kind_check CHECK (kind IN ('invoices', 'payments', 'clients')),
    from_date     date,
    to_date       date,
    status        text NOT NULL DEFAULT 'pending' CONSTRAINT report_exports_status_check CHECK (status IN ('pending', 'ready', 'failed')),
    row_count     bigint,
    bytes         bigint,
    storage_key   text,
    error         text,
    requested_by  uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    expires_at    timestamptz NOT NULL DEFAULT now() + interval '7 days',
    PRIMARY KEY (account_id, id),
    CONSTRAINT report_exports_range_check CHECK (from_date IS NULL OR to_date IS NULL OR from_date <= to_date)
);
CREATE INDEX report_exports_expiry_idx ON report_exports (expires_at);
ALTER TABLE report_exports ENABLE ROW LEVEL SECURITY;
ALTER TABLE report_exports FORCE ROW LEVEL SECURITY;
CREATE POLICY report_exports_tenant ON report_exports USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());
-- The cleanup task deletes expired exports across accounts on the owner's connection.
CREATE POLICY report_exports_cleanup_read ON report_exports FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY report_exports_cleanup ON report_exports FOR DELETE TO CURRENT_USER USING (true);
