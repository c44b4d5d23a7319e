-- Invoices, their lines, and payments.

CREATE TABLE invoices (
    account_id      uuid NOT NULL REFERENCES accounts (id),
    id              uuid NOT NULL,
    -- Assigned when the invoice is issued (sent); drafts have none. Gapless per
    -- account: numbers come from accounts.next_invoice_number in the issuing
    -- transaction. A void invoice keeps its number.
    number          text,
    client_id       uuid NOT NULL,
    property_id     uuid,
    job_id          uuid,
    title           text NOT NULL,
    message         text,
    status          text NOT NULL DEFAULT 'draft' CONSTRAINT invoices_status_check
        CHECK (status IN ('draft', 'sent', 'partially_paid', 'paid', 'void', 'bad_debt')),
    payment_terms   text NOT NULL CONSTRAINT invoices_payment_terms_check
        CHECK (payment_terms IN ('due_on_receipt', 'net_7', 'net_15', 'net_30', 'net_60', 'custom')),
    issue_date      date,
    due_date        date,
    discount_kind   text CONSTRAINT invoices_discount_kind_check CHECK (discount_kind IN ('amount', 'percent')),
    discount_value  bigint NOT NULL DEFAULT 0,
    taxes           jsonb NOT NULL DEFAULT '[]',
    subtotal        bigint NOT NULL DEFAULT 0,
    discount_total  bigint NOT NULL DEFAULT 0,
    tax_total       bigint NOT NULL DEFAULT 0,
    total           bigint NOT NULL DEFAULT 0,
    amount_paid     bigint NOT NULL DEFAULT 0,
    amount_refunded bigint NOT NULL DEFAULT 0,
    sent_at         timestamptz,
    paid_at         timestamptz,
    voided_at       timestamptz,
    version         integer NOT NULL DEFAULT 1,
    created_by      uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    CONSTRAINT invoices_account_number_key UNIQUE (account_id, number),
    CONSTRAINT invoices_client_fkey FOREIGN KEY (account_id, client_id) REFERENCES clients (account_id, id) ON DELETE RESTRICT,
    CONSTRAINT invoices_property_fkey FOREIGN KEY (account_id, property_id) REFERENCES properties (account_id, id) ON DELETE RESTRICT,
    CONSTRAINT invoices_job_fkey FOREIGN KEY (account_id, job_id) REFERENCES jobs (account_id, id) ON DELETE RESTRICT,
    -- balance = total - paid + refunded is never negative: no overpayment.
    CONSTRAINT invoices_balance_check CHECK (amount_paid - amount_refunded <= total AND amount_refunded <= amount_paid),
    CONSTRAINT invoices_issued_check CHECK (status = 'draft' OR (number IS NOT NULL AND issue_date IS NOT NULL AND due_date IS NOT NULL))
);
CREATE TRIGGER invoices_updated_at BEFORE UPDATE ON invoices FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE INDEX invoices_list_idx ON invoices (account_id, id DESC);
CREATE INDEX invoices_status_idx ON invoices (account_id, status, due_date);
CREATE INDEX invoices_client_idx ON invoices (account_id, client_id, id DESC);
CREATE INDEX invoices_job_idx ON invoices (account_id, job_id) WHERE job_id IS NOT NULL;
ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoices FORCE ROW LEVEL SECURITY;
CREATE POLICY invoices_tenant ON invoices USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());

CREATE TABLE invoice_lines (
    account_id           uuid NOT NULL,
    id                   uuid NOT NULL,
    invoice_id           uuid NOT NULL,
    position             integer NOT NULL,
    catalog_item_id      uuid,
    -- The visit this line bills (per-visit billing).
    visit_id             uuid,
    name                 text NOT NULL,
    description          text,
    quantity_hundredths  bigint NOT NULL,
    unit_price           bigint NOT NULL,
    taxable              boolean NOT NULL DEFAULT true,
    line_total           bigint NOT NULL,
    PRIMARY KEY (account_id, id),
    CONSTRAINT invoice_lines_invoice_fkey FOREIGN KEY (account_id, invoice_id) REFERENCES invoices (account_id, id) ON DELETE CASCADE,
    CONSTRAINT invoice_lines_position_key UNIQUE (account_id, invoice_id, position)
);
ALTER TABLE invoice_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoice_lines FORCE ROW LEVEL SECURITY;
CREATE POLICY invoice_lines_tenant ON invoice_lines USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());

-- What has been billed, so nothing is billed twice: a visit (per-visit billing) or
-- a job's lines (billing at the end) belong to one live invoice.
ALTER TABLE visits ADD COLUMN invoice_id uuid;
ALTER TABLE visits ADD CONSTRAINT visits_invoice_fkey FOREIGN KEY (account_id, invoice_id) REFERENCES invoices (account_id, id) ON DELETE SET NULL (invoice_id);
ALTER TABLE jobs ADD COLUMN invoice_id uuid;
ALTER TABLE jobs ADD CONSTRAINT jobs_invoice_fkey FOREIGN KEY (account_id, invoice_id) REFERENCES invoices (account_id, id) ON DELETE SET NULL (invoice_id);

CREATE TABLE payments (
    account_id   uuid NOT NULL REFERENCES accounts (id),
    id           uuid NOT NULL,
    invoice_id   uuid NOT NULL,
    client_id    uuid NOT NULL,
    method       text NOT NULL CONSTRAINT payments_method_check CHECK (method IN ('cash', 'check', 'bank_transfer', 'card', 'other')),
    status       text NOT NULL DEFAULT 'succeeded' CONSTRAINT payments_status_check
        CHECK (status IN ('pending', 'succeeded', 'failed', 'refunded', 'partially_refunded')),
    -- Applied to the invoice; a tip is on top and does not reduce the balance.
    amount       bigint NOT NULL CONSTRAINT payments_amount_check CHECK (amount > 0),
    tip          bigint NOT NULL DEFAULT 0 CONSTRAINT payments_tip_check CHECK (tip >= 0),
    fee          bigint NOT NULL DEFAULT 0,
    refunded     bigint NOT NULL DEFAULT 0,
    reference    text,
    note         text,
    paid_at      timestamptz NOT NULL DEFAULT now(),
    created_by   uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    CONSTRAINT payments_invoice_fkey FOREIGN KEY (account_id, invoice_id) REFERENCES invoices (account_id, id) ON DELETE RESTRICT,
    CONSTRAINT payments_client_fkey FOREIGN KEY (account_id, client_id) REFERENCES clients (account_id, id) ON DELETE RESTRICT
);
CREATE INDEX payments_invoice_idx ON payments (account_id, invoice_id);
CREATE INDEX payments_paid_idx ON payments (account_id, paid_at);
ALTER TABLE payments ENABLE ROW LEVEL SECURITY;
ALTER TABLE payments FORCE ROW LEVEL SECURITY;
CREATE POLICY payments_tenant ON payments USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());
