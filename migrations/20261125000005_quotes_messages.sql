-- Quotes with their lines, and the communications outbox.

CREATE TABLE quotes (
    account_id             uuid NOT NULL REFERENCES accounts (id),
    id                     uuid NOT NULL,
    -- Per-account human number, e.g. Q-42 (prefix + number at creation time).
    number                 text NOT NULL,
    client_id              uuid NOT NULL,
    property_id            uuid,
    title                  text NOT NULL,
    message                text,
    status                 text NOT NULL DEFAULT 'draft' CONSTRAINT quotes_status_check
        CHECK (status IN ('draft', 'sent', 'approved', 'declined', 'changes_requested', 'converted', 'archived')),
    -- Discount and deposit: an amount (minor units) or a percentage (basis points).
    discount_kind          text CONSTRAINT quotes_discount_kind_check CHECK (discount_kind IN ('amount', 'percent')),
    discount_value         bigint NOT NULL DEFAULT 0,
    deposit_kind           text CONSTRAINT quotes_deposit_kind_check CHECK (deposit_kind IN ('amount', 'percent')),
    deposit_value          bigint NOT NULL DEFAULT 0,
    -- The taxes applied, copied from the account's rates: [{"name", "rate_bps"}].
    taxes                  jsonb NOT NULL DEFAULT '[]',
    -- Computed by the money rules whenever lines change (docs/api.md).
    subtotal               bigint NOT NULL DEFAULT 0,
    discount_total         bigint NOT NULL DEFAULT 0,
    tax_total              bigint NOT NULL DEFAULT 0,
    total                  bigint NOT NULL DEFAULT 0,
    deposit_amount         bigint NOT NULL DEFAULT 0,
    valid_until            date,
    sent_at                timestamptz,
    approved_at            timestamptz,
    approved_by_name       text,
    approved_by_user_id    uuid,
    approved_ip            text,
    declined_at            timestamptz,
    decline_reason         text,
    changes_requested_note text,
    converted_at           timestamptz,
    converted_job_id       uuid,
    version                integer NOT NULL DEFAULT 1,
    created_by             uuid,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    CONSTRAINT quotes_account_number_key UNIQUE (account_id, number),
    CONSTRAINT quotes_client_fkey FOREIGN KEY (account_id, client_id) REFERENCES clients (account_id, id) ON DELETE RESTRICT,
    CONSTRAINT quotes_property_fkey FOREIGN KEY (account_id, property_id) REFERENCES properties (account_id, id) ON DELETE RESTRICT
);
CREATE TRIGGER quotes_updated_at BEFORE UPDATE ON quotes FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE INDEX quotes_list_idx ON quotes (account_id, id DESC);
CREATE INDEX quotes_status_idx ON quotes (account_id, status, id DESC);
CREATE INDEX quotes_client_idx ON quotes (account_id, client_id, id DESC);
CREATE INDEX quotes_property_idx ON quotes (account_id, property_id) WHERE property_id IS NOT NULL;
ALTER TABLE quotes ENABLE ROW LEVEL SECURITY;
ALTER TABLE quotes FORCE ROW LEVEL SECURITY;
CREATE POLICY quotes_tenant ON quotes USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());

CREATE TABLE quote_lines (
    account_id           uuid NOT NULL,
    id                   uuid NOT NULL,
    quote_id             uuid NOT NULL,
    position             integer NOT NULL,
    -- The catalog item it was picked from; name and price are copies.
    catalog_item_id      uuid,
    name                 text NOT NULL,
    description          text,
    -- Hundredths: 150 = 1.5.
    quantity_hundredths  bigint NOT NULL,
    unit_price           bigint NOT NULL,
    taxable              boolean NOT NULL DEFAULT true,
    -- Optional lines are offered to the client, who picks them when approving.
    optional             boolean NOT NULL DEFAULT false,
    selected             boolean NOT NULL DEFAULT true,
    line_total           bigint NOT NULL,
    PRIMARY KEY (account_id, id),
    CONSTRAINT quote_lines_quote_fkey FOREIGN KEY (account_id, quote_id) REFERENCES quotes (account_id, id) ON DELETE CASCADE,
    CONSTRAINT quote_lines_position_key UNIQUE (account_id, quote_id, position)
);
ALTER TABLE quote_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE quote_lines FORCE ROW LEVEL SECURITY;
CREATE POLICY quote_lines_tenant ON quote_lines USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());

-- Every email and text to a client. Written (status 'queued') in the transaction of
-- the change that causes it; the background worker delivers it and records the
-- outcome. Nothing is queued for a change that rolls back.
CREATE TABLE messages (
    account_id    uuid NOT NULL REFERENCES accounts (id),
    id            uuid NOT NULL,
    client_id     uuid,
    channel       text NOT NULL CONSTRAINT messages_channel_check CHECK (channel IN ('email', 'sms')),
    -- What it is: quote_sent, invoice_sent, payment_receipt, visit_reminder, ...
    template      text NOT NULL,
    to_address    text NOT NULL,
    subject       text,
    body_text     text NOT NULL,
    body_html     text,
    -- The record it is about, e.g. ('quote', id); attachments are derived from it.
    subject_type  text,
    subject_id    uuid,
    status        text NOT NULL DEFAULT 'queued' CONSTRAINT messages_status_check CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    error         text,
    attempts      integer NOT NULL DEFAULT 0,
    created_by    uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz,
    PRIMARY KEY (account_id, id),
    CONSTRAINT messages_client_fkey FOREIGN KEY (account_id, client_id) REFERENCES clients (account_id, id) ON DELETE RESTRICT
);
CREATE INDEX messages_queue_idx ON messages (created_at) WHERE status = 'queued';
CREATE INDEX messages_client_idx ON messages (account_id, client_id, id DESC);
CREATE INDEX messages_subject_idx ON messages (account_id, subject_type, subject_id);
ALTER TABLE messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE messages FORCE ROW LEVEL SECURITY;
CREATE POLICY messages_tenant ON messages USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());
