-- Account settings, tax rates and the products & services catalog.

ALTER TABLE accounts
    ADD COLUMN address                     jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN phone                       text,
    ADD COLUMN email                       text,
    ADD COLUMN website                     text,
    -- Object-store key of the logo (uploads arrive with the files feature).
    ADD COLUMN logo_key                    text,
    ADD COLUMN locale                      text NOT NULL DEFAULT 'en-US',
    ADD COLUMN payment_terms               text NOT NULL DEFAULT 'net_30'
        CONSTRAINT accounts_payment_terms_check CHECK (payment_terms IN ('due_on_receipt', 'net_7', 'net_15', 'net_30', 'net_60')),
    ADD COLUMN quote_validity_days         integer NOT NULL DEFAULT 30
        CONSTRAINT accounts_quote_validity_check CHECK (quote_validity_days BETWEEN 1 AND 365),
    ADD COLUMN quote_prefix                text NOT NULL DEFAULT 'Q-',
    ADD COLUMN next_quote_number           bigint NOT NULL DEFAULT 1 CONSTRAINT accounts_next_quote_number_check CHECK (next_quote_number > 0),
    ADD COLUMN job_prefix                  text NOT NULL DEFAULT 'J-',
    ADD COLUMN next_job_number             bigint NOT NULL DEFAULT 1 CONSTRAINT accounts_next_job_number_check CHECK (next_job_number > 0),
    ADD COLUMN invoice_prefix              text NOT NULL DEFAULT 'INV-',
    ADD COLUMN next_invoice_number         bigint NOT NULL DEFAULT 1 CONSTRAINT accounts_next_invoice_number_check CHECK (next_invoice_number > 0),
    ADD COLUMN show_prices_to_technicians  boolean NOT NULL DEFAULT false;

CREATE TABLE tax_rates (
    account_id  uuid NOT NULL REFERENCES accounts (id),
    id          uuid NOT NULL,
    name        text NOT NULL,
    -- Basis points: 825 = 8.25 %.
    rate_bps    integer NOT NULL CONSTRAINT tax_rates_rate_check CHECK (rate_bps BETWEEN 0 AND 10000),
    -- Applied to new quotes and invoices unless the user picks others.
    is_default  boolean NOT NULL DEFAULT false,
    active      boolean NOT NULL DEFAULT true,
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id)
);
CREATE TRIGGER tax_rates_updated_at BEFORE UPDATE ON tax_rates FOR EACH ROW EXECUTE FUNCTION set_updated_at();
ALTER TABLE tax_rates ENABLE ROW LEVEL SECURITY;
ALTER TABLE tax_rates FORCE ROW LEVEL SECURITY;
CREATE POLICY tax_rates_tenant ON tax_rates USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());

CREATE TABLE catalog_items (
    account_id   uuid NOT NULL REFERENCES accounts (id),
    id           uuid NOT NULL,
    kind         text NOT NULL CONSTRAINT catalog_items_kind_check CHECK (kind IN ('service', 'product')),
    name         text NOT NULL,
    description  text,
    -- Minor units of the account's currency.
    unit_price   bigint NOT NULL,
    unit_cost    bigint,
    taxable      boolean NOT NULL DEFAULT true,
    active       boolean NOT NULL DEFAULT true,
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id)
);
CREATE TRIGGER catalog_items_updated_at BEFORE UPDATE ON catalog_items FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE INDEX catalog_items_list_idx ON catalog_items (account_id, active, id DESC);
CREATE INDEX catalog_items_name_idx ON catalog_items USING gin (lower(name) gin_trgm_ops);
ALTER TABLE catalog_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE catalog_items FORCE ROW LEVEL SECURITY;
CREATE POLICY catalog_items_tenant ON catalog_items USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());
