-- Work requests and online booking (issue 13): the public request form of each
-- account, the requests it receives, and the services clients may book online.

-- The form's public name (`/request/<slug>`): lower-case letters, digits and dashes,
-- made from the business name when the account is created, editable in settings.
CREATE FUNCTION jobber_request_slug(name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(
        nullif(trim(BOTH '-' FROM left(trim(BOTH '-' FROM regexp_replace(lower(name), '[^a-z0-9]+', '-', 'g')), 50)), ''),
        'business')
$$;

-- The forms of every account, and the settings of online booking. The slug directory
-- is public (anyone may look an account's form up by its slug, as a visitor of the
-- form does, before any account is known); rows are written only for the current
-- account.
CREATE TABLE request_forms (
    account_id             uuid PRIMARY KEY REFERENCES accounts (id),
    slug                   text NOT NULL CONSTRAINT request_forms_slug_format CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,58}[a-z0-9])?$'),
    -- A disabled form answers 404 to the public.
    enabled                boolean NOT NULL DEFAULT true,
    booking_enabled        boolean NOT NULL DEFAULT false,
    -- Weekly working hours in the account's time zone, applied to every bookable
    -- person: [{"day": 1 (Monday) .. 7, "start": "08:00", "end": "17:00"}, ...].
    working_hours          jsonb NOT NULL DEFAULT '[{"day":1,"start":"08:00","end":"17:00"},{"day":2,"start":"08:00","end":"17:00"},{"day":3,"start":"08:00","end":"17:00"},{"day":4,"start":"08:00","end":"17:00"},{"day":5,"start":"08:00","end":"17:00"}]',
    -- Kept free between two visits of one person (travel).
    travel_buffer_minutes  integer NOT NULL DEFAULT 30 CONSTRAINT request_forms_buffer_range CHECK (travel_buffer_minutes BETWEEN 0 AND 480),
    -- How far ahead the earliest slot must be.
    notice_hours           integer NOT NULL DEFAULT 12 CONSTRAINT request_forms_notice_range CHECK (notice_hours BETWEEN 0 AND 720),
    version                integer NOT NULL DEFAULT 1,
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT request_forms_slug_key UNIQUE (slug)
);
CREATE TRIGGER request_forms_updated_at BEFORE UPDATE ON request_forms FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- A free slug made from `name` (the name's own, or with a numbered suffix).
CREATE FUNCTION jobber_free_request_slug(name text) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    base text := jobber_request_slug(name);
    candidate text := base;
    n integer := 1;
BEGIN
    WHILE EXISTS (SELECT FROM request_forms WHERE slug = candidate) LOOP
        n := n + 1;
        candidate := left(base, 50) || '-' || n;
    END LOOP;
    RETURN candidate;
END
$$;

-- Existing accounts get their form now (before row-level security is on: the
-- migration sees every account through accounts_runner_read).
DO $$
DECLARE
    a record;
BEGIN
    FOR a IN SELECT id, name FROM accounts ORDER BY id LOOP
        INSERT INTO request_forms (account_id, slug) VALUES (a.id, jobber_free_request_slug(a.name));
    END LOOP;
END
$$;

ALTER TABLE request_forms ENABLE ROW LEVEL SECURITY;
ALTER TABLE request_forms FORCE ROW LEVEL SECURITY;
CREATE POLICY request_forms_lookup ON request_forms FOR SELECT USING (true);
CREATE POLICY request_forms_insert ON request_forms FOR INSERT WITH CHECK (account_id = app_account_id());
CREATE POLICY request_forms_update ON request_forms FOR UPDATE USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());
CREATE POLICY request_forms_delete ON request_forms FOR DELETE USING (account_id = app_account_id());

-- New accounts get theirs in the transaction that creates them (which runs as that
-- account, so the insert policy holds).
CREATE FUNCTION jobber_account_request_form() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO request_forms (account_id, slug) VALUES (NEW.id, jobber_free_request_slug(NEW.name));
    RETURN NEW;
END
$$;
CREATE TRIGGER accounts_request_form AFTER INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION jobber_account_request_form();

CREATE TABLE work_requests (
    account_id       uuid NOT NULL REFERENCES accounts (id),
    id               uuid NOT NULL,
    status           text NOT NULL DEFAULT 'new' CONSTRAINT work_requests_status_check CHECK (status IN ('new', 'converted', 'archived')),
    -- 'form' (the public request form) or 'booking' (an online booking).
    source           text NOT NULL DEFAULT 'form' CONSTRAINT work_requests_source_check CHECK (source IN ('form', 'booking')),
    name             text NOT NULL,
    email            text NOT NULL,
    phone            text,
    address          jsonb NOT NULL DEFAULT '{}',
    service_id       uuid,
    -- The service's name when the request came in (the item may change or go).
    service_name     text,
    details          text,
    preferred_times  text,
    client_id        uuid,
    quote_id         uuid,
    job_id           uuid,
    converted_at     timestamptz,
    archived_at      timestamptz,
    -- Where the form was sent from (spam follow-up).
    remote_ip        text,
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    CONSTRAINT work_requests_service_fkey FOREIGN KEY (account_id, service_id) REFERENCES catalog_items (account_id, id) ON DELETE SET NULL (service_id),
    CONSTRAINT work_requests_client_fkey FOREIGN KEY (account_id, client_id) REFERENCES clients (account_id, id) ON DELETE SET NULL (client_id),
    CONSTRAINT work_requests_quote_fkey FOREIGN KEY (account_id, quote_id) REFERENCES quotes (account_id, id) ON DELETE SET NULL (quote_id),
    CONSTRAINT work_requests_job_fkey FOREIGN KEY (account_id, job_id) REFERENCES jobs (account_id, id) ON DELETE SET NULL (job_id)
);
CREATE TRIGGER work_requests_updated_at BEFORE UPDATE ON work_requests FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE INDEX work_requests_list_idx ON work_requests (account_id, id DESC);
CREATE INDEX work_requests_status_idx ON work_requests (account_id, status, id DESC);
ALTER TABLE work_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE work_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY work_requests_tenant ON work_requests USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());

-- The catalog services clients may book online, and how long a visit for each takes.
CREATE TABLE bookable_services (
    account_id        uuid NOT NULL REFERENCES accounts (id),
    catalog_item_id   uuid NOT NULL,
    duration_minutes  integer NOT NULL CONSTRAINT bookable_services_duration_range CHECK (duration_minutes BETWEEN 15 AND 720),
    PRIMARY KEY (account_id, catalog_item_id),
    CONSTRAINT bookable_services_item_fkey FOREIGN KEY (account_id, catalog_item_id) REFERENCES catalog_items (account_id, id) ON DELETE CASCADE
);
ALTER TABLE bookable_services ENABLE ROW LEVEL SECURITY;
ALTER TABLE bookable_services FORCE ROW LEVEL SECURITY;
CREATE POLICY bookable_services_tenant ON bookable_services USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());
