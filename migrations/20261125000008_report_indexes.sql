-- Indexes for the reports at scale (docs/performance.md).

-- Completed visits not yet invoiced (dashboard "to invoice", invoicing from a job).
CREATE INDEX visits_to_invoice_idx ON visits (account_id, job_id) WHERE status = 'completed' AND invoice_id IS NULL;
-- Visits completed in a period (jobs report, per technician).
CREATE INDEX visits_completed_idx ON visits (account_id, completed_at) WHERE status = 'completed';
