-- A job converted from a quote keeps the quote's pricing terms, so its invoices
-- charge what the client approved: the discount and the tax rates (a snapshot of
-- name and rate, as on the quote). NULL taxes: the job was not priced by a quote,
-- and its invoices take the rates given or the account's defaults.
ALTER TABLE jobs
    ADD COLUMN discount_kind text CONSTRAINT jobs_discount_kind_check CHECK (discount_kind IN ('amount', 'percent')),
    ADD COLUMN discount_value bigint NOT NULL DEFAULT 0,
    ADD COLUMN taxes jsonb,
    -- An amount discount is granted once: on the first live invoice of the job.
    -- Voiding that invoice frees it for the next one.
    ADD COLUMN discount_invoice_id uuid,
    ADD CONSTRAINT jobs_discount_invoice_fkey FOREIGN KEY (account_id, discount_invoice_id)
        REFERENCES invoices (account_id, id) ON DELETE SET NULL (discount_invoice_id);

-- Who approved: the client through the hub (signed link) or staff on their behalf.
ALTER TABLE quotes
    ADD COLUMN approved_via text CONSTRAINT quotes_approved_via_check CHECK (approved_via IN ('staff', 'client_hub'));
UPDATE quotes SET approved_via = 'staff' WHERE approved_at IS NOT NULL;
