-- Each bookable person's own weekly working hours for online booking (issue 13).
-- A person without a row works the account's hours (`request_forms.working_hours`);
-- a row replaces them for that person: an empty list means they take no bookings.
CREATE TABLE person_working_hours (
    account_id   uuid NOT NULL REFERENCES accounts (id),
    user_id      uuid NOT NULL,
    -- [{"day": 1 (Monday) .. 7, "start": "08:00", "end": "17:00"}, ...], in the account's time zone.
    hours        jsonb NOT NULL CONSTRAINT person_working_hours_list CHECK (jsonb_typeof(hours) = 'array'),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, user_id),
    CONSTRAINT person_working_hours_user_fkey FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
CREATE TRIGGER person_working_hours_updated_at BEFORE UPDATE ON person_working_hours FOR EACH ROW EXECUTE FUNCTION set_updated_at();
ALTER TABLE person_working_hours ENABLE ROW LEVEL SECURITY;
ALTER TABLE person_working_hours FORCE ROW LEVEL SECURITY;
CREATE POLICY person_working_hours_tenant ON person_working_hours USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());
