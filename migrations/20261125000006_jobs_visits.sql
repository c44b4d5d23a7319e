-- Jobs, their visits on the calendar, assignments, checklists and time entries.

CREATE TABLE jobs (
    account_id        uuid NOT NULL REFERENCES accounts (id),
    id                uuid NOT NULL,
    number            text NOT NULL,
    client_id         uuid NOT NULL,
    property_id       uuid,
    quote_id          uuid,
    title             text NOT NULL,
    instructions      text,
    status            text NOT NULL DEFAULT 'active' CONSTRAINT jobs_status_check CHECK (status IN ('active', 'completed', 'cancelled')),
    -- Invoice each visit as it is completed, or the whole job at the end.
    billing           text NOT NULL DEFAULT 'on_completion' CONSTRAINT jobs_billing_check CHECK (billing IN ('per_visit', 'on_completion')),
    -- Recurring jobs: an RFC 5545 RRULE expanded from the first visit's local start.
    rrule             text,
    first_start_local timestamp,
    duration_minutes  integer CONSTRAINT jobs_duration_check CHECK (duration_minutes BETWEEN 1 AND 1440),
    anytime           boolean NOT NULL DEFAULT false,
    -- Visits exist up to here; later ones are generated as the calendar moves on.
    generated_until   timestamptz,
    total             bigint NOT NULL DEFAULT 0,
    completed_at      timestamptz,
    cancelled_at      timestamptz,
    version           integer NOT NULL DEFAULT 1,
    created_by        uuid,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    CONSTRAINT jobs_account_number_key UNIQUE (account_id, number),
    CONSTRAINT jobs_client_fkey FOREIGN KEY (account_id, client_id) REFERENCES clients (account_id, id) ON DELETE RESTRICT,
    CONSTRAINT jobs_property_fkey FOREIGN KEY (account_id, property_id) REFERENCES properties (account_id, id) ON DELETE RESTRICT,
    CONSTRAINT jobs_quote_fkey FOREIGN KEY (account_id, quote_id) REFERENCES quotes (account_id, id) ON DELETE RESTRICT
);
CREATE TRIGGER jobs_updated_at BEFORE UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE INDEX jobs_list_idx ON jobs (account_id, id DESC);
CREATE INDEX jobs_status_idx ON jobs (account_id, status, id DESC);
CREATE INDEX jobs_client_idx ON jobs (account_id, client_id, id DESC);
CREATE UNIQUE INDEX jobs_quote_key ON jobs (account_id, quote_id) WHERE quote_id IS NOT NULL;
ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY jobs_tenant ON jobs USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());

CREATE TABLE job_lines (
    account_id           uuid NOT NULL,
    id                   uuid NOT NULL,
    job_id               uuid NOT NULL,
    position             integer NOT NULL,
    catalog_item_id      uuid,
    name                 text NOT NULL,
    description          text,
    quantity_hundredths  bigint NOT NULL,
    unit_price           bigint NOT NULL,
    taxable              boolean NOT NULL DEFAULT true,
    line_total           bigint NOT NULL,
    PRIMARY KEY (account_id, id),
    CONSTRAINT job_lines_job_fkey FOREIGN KEY (account_id, job_id) REFERENCES jobs (account_id, id) ON DELETE CASCADE,
    CONSTRAINT job_lines_position_key UNIQUE (account_id, job_id, position)
);
ALTER TABLE job_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE job_lines FORCE ROW LEVEL SECURITY;
CREATE POLICY job_lines_tenant ON job_lines USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());

CREATE TABLE visits (
    account_id        uuid NOT NULL,
    id                uuid NOT NULL,
    job_id            uuid NOT NULL,
    -- Position in a recurring series (null for visits added by hand).
    occurrence_index  integer,
    -- Null while unscheduled. "Anytime" visits span their local day.
    starts_at         timestamptz,
    ends_at           timestamptz,
    anytime           boolean NOT NULL DEFAULT false,
    status            text NOT NULL DEFAULT 'scheduled' CONSTRAINT visits_status_check CHECK (status IN ('scheduled', 'in_progress', 'completed', 'cancelled')),
    instructions      text,
    notes             text,
    completed_at      timestamptz,
    completed_by      uuid,
    version           integer NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    CONSTRAINT visits_job_fkey FOREIGN KEY (account_id, job_id) REFERENCES jobs (account_id, id) ON DELETE CASCADE,
    CONSTRAINT visits_times_check CHECK ((starts_at IS NULL) = (ends_at IS NULL) AND (ends_at IS NULL OR ends_at > starts_at))
);
CREATE TRIGGER visits_updated_at BEFORE UPDATE ON visits FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE INDEX visits_job_idx ON visits (account_id, job_id, starts_at);
CREATE INDEX visits_window_idx ON visits (account_id, starts_at) WHERE starts_at IS NOT NULL;
CREATE INDEX visits_unscheduled_idx ON visits (account_id, id) WHERE starts_at IS NULL AND status = 'scheduled';
ALTER TABLE visits ENABLE ROW LEVEL SECURITY;
ALTER TABLE visits FORCE ROW LEVEL SECURITY;
CREATE POLICY visits_tenant ON visits USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());

CREATE TABLE visit_assignees (
    account_id  uuid NOT NULL,
    visit_id    uuid NOT NULL,
    user_id     uuid NOT NULL,
    PRIMARY KEY (account_id, visit_id, user_id),
    CONSTRAINT visit_assignees_visit_fkey FOREIGN KEY (account_id, visit_id) REFERENCES visits (account_id, id) ON DELETE CASCADE,
    CONSTRAINT visit_assignees_user_fkey FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
CREATE INDEX visit_assignees_user_idx ON visit_assignees (account_id, user_id, visit_id);
ALTER TABLE visit_assignees ENABLE ROW LEVEL SECURITY;
ALTER TABLE visit_assignees FORCE ROW LEVEL SECURITY;
CREATE POLICY visit_assignees_tenant ON visit_assignees USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());

CREATE TABLE visit_checklist_items (
    account_id  uuid NOT NULL,
    id          uuid NOT NULL,
    visit_id    uuid NOT NULL,
    position    integer NOT NULL,
    text        text NOT NULL,
    done        boolean NOT NULL DEFAULT false,
    done_by     uuid,
    done_at     timestamptz,
    PRIMARY KEY (account_id, id),
    CONSTRAINT visit_checklist_items_visit_fkey FOREIGN KEY (account_id, visit_id) REFERENCES visits (account_id, id) ON DELETE CASCADE
);
CREATE INDEX visit_checklist_items_visit_idx ON visit_checklist_items (account_id, visit_id, position);
ALTER TABLE visit_checklist_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE visit_checklist_items FORCE ROW LEVEL SECURITY;
CREATE POLICY visit_checklist_items_tenant ON visit_checklist_items USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());

CREATE TABLE time_entries (
    account_id  uuid NOT NULL,
    id          uuid NOT NULL,
    visit_id    uuid NOT NULL,
    user_id     uuid NOT NULL,
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    PRIMARY KEY (account_id, id),
    CONSTRAINT time_entries_visit_fkey FOREIGN KEY (account_id, visit_id) REFERENCES visits (account_id, id) ON DELETE CASCADE,
    CONSTRAINT time_entries_user_fkey FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE,
    CONSTRAINT time_entries_order_check CHECK (ended_at IS NULL OR ended_at >= started_at)
);
-- A person is clocked in to at most one visit at a time.
CREATE UNIQUE INDEX time_entries_open_key ON time_entries (account_id, user_id) WHERE ended_at IS NULL;
CREATE INDEX time_entries_visit_idx ON time_entries (account_id, visit_id);
ALTER TABLE time_entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE time_entries FORCE ROW LEVEL SECURITY;
CREATE POLICY time_entries_tenant ON time_entries USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());

-- The secret of each user's iCalendar feed (a calendar app cannot send a token).
ALTER TABLE users ADD COLUMN calendar_token text;
CREATE UNIQUE INDEX users_calendar_token_key ON users (calendar_token) WHERE calendar_token IS NOT NULL;
