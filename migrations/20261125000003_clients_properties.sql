-- Clients and their properties (service addresses).

CREATE TABLE clients (
    account_id       uuid NOT NULL REFERENCES accounts (id),
    id               uuid NOT NULL,
    first_name       text,
    last_name        text,
    company_name     text,
    emails           jsonb NOT NULL DEFAULT '[]',
    phones           jsonb NOT NULL DEFAULT '[]',
    billing_address  jsonb NOT NULL DEFAULT '{}',
    tags             text[] NOT NULL DEFAULT '{}',
    notes            text,
    status           text NOT NULL DEFAULT 'active' CONSTRAINT clients_status_check CHECK (status IN ('lead', 'active', 'archived')),
    -- Names, emails, phones (also as bare digits) and billing address, lower-cased,
    -- maintained by the service; trigram-indexed for ?q= search.
    search_text      text NOT NULL DEFAULT '',
    version          integer NOT NULL DEFAULT 1,
    created_by       uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    CONSTRAINT clients_name_present CHECK (
        coalesce(first_name, '') <> '' OR coalesce(last_name, '') <> '' OR coalesce(company_name, '') <> ''
    )
);
CREATE TRIGGER clients_updated_at BEFORE UPDATE ON clients FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE INDEX clients_list_idx ON clients (account_id, id DESC);
CREATE INDEX clients_status_idx ON clients (account_id, status, id DESC);
CREATE INDEX clients_tags_idx ON clients USING gin (tags);
CREATE INDEX clients_search_idx ON clients USING gin (search_text gin_trgm_ops);
ALTER TABLE clients ENABLE ROW LEVEL SECURITY;
ALTER TABLE clients FORCE ROW LEVEL SECURITY;
CREATE POLICY clients_tenant ON clients USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());

CREATE TABLE properties (
    account_id   uuid NOT NULL,
    id           uuid NOT NULL,
    client_id    uuid NOT NULL,
    name         text,
    address      jsonb NOT NULL,
    latitude     double precision CONSTRAINT properties_latitude_range CHECK (latitude BETWEEN -90 AND 90),
    longitude    double precision CONSTRAINT properties_longitude_range CHECK (longitude BETWEEN -180 AND 180),
    notes        text,
    search_text  text NOT NULL DEFAULT '',
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    -- Properties are part of their client; work that references a client (quotes,
    -- jobs, invoices) references it with ON DELETE RESTRICT, which is what turns a
    -- delete into an archive.
    CONSTRAINT properties_client_fkey FOREIGN KEY (account_id, client_id) REFERENCES clients (account_id, id) ON DELETE CASCADE,
    CONSTRAINT properties_coordinates_pair CHECK ((latitude IS NULL) = (longitude IS NULL))
);
CREATE TRIGGER properties_updated_at BEFORE UPDATE ON properties FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE INDEX properties_client_idx ON properties (account_id, client_id, id);
CREATE INDEX properties_search_idx ON properties USING gin (search_text gin_trgm_ops);
ALTER TABLE properties ENABLE ROW LEVEL SECURITY;
ALTER TABLE properties FORCE ROW LEVEL SECURITY;
CREATE POLICY properties_tenant ON properties USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());
