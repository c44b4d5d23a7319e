-- Text messages (Twilio), their delivery statuses and replies; visit reminders and
-- overdue-invoice follow-ups (once each, even with several workers).

-- SMS statuses follow Twilio's: sent (accepted by the carrier), then delivered or
-- undelivered; failed also covers a Twilio refusal. Replies are 'received'.
ALTER TABLE messages DROP CONSTRAINT messages_status_check;
ALTER TABLE messages ADD CONSTRAINT messages_status_check
    CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'received'));
ALTER TABLE messages ADD COLUMN direction text NOT NULL DEFAULT 'outbound'
    CONSTRAINT messages_direction_check CHECK (direction IN ('outbound', 'inbound'));
-- Inbound: the client's number (to_address is then the business's Twilio number).
ALTER TABLE messages ADD COLUMN from_address text;
-- The provider's error code (Twilio's ErrorCode, e.g. 30003).
ALTER TABLE messages ADD COLUMN error_code text;

-- A reply finds its account through the last text sent to that number, across
-- accounts, on the owner's connection (tenant transactions still see only theirs).
CREATE INDEX messages_sms_route_idx ON messages (to_address, created_at DESC)
    WHERE channel = 'sms' AND direction = 'outbound';
CREATE POLICY messages_sms_route ON messages FOR SELECT TO CURRENT_USER
    USING (channel = 'sms' AND direction = 'outbound');
-- Twilio retries a webhook it did not get an answer to: a reply is stored once.
CREATE UNIQUE INDEX messages_inbound_sid_key ON messages (account_id, provider_id)
    WHERE direction = 'inbound';

-- Account settings: reminders and follow-ups are off until the business turns them on.
ALTER TABLE accounts
    ADD COLUMN visit_reminders              boolean NOT NULL DEFAULT false,
    ADD COLUMN visit_reminder_hours_before  integer NOT NULL DEFAULT 24
        CONSTRAINT accounts_visit_reminder_hours_check CHECK (visit_reminder_hours_before BETWEEN 1 AND 168),
    ADD COLUMN invoice_followups            boolean NOT NULL DEFAULT false,
    ADD COLUMN invoice_followup_days        integer[] NOT NULL DEFAULT '{3,7,14}'
        CONSTRAINT accounts_invoice_followup_days_check CHECK (cardinality(invoice_followup_days) <= 10);

-- One row per reminder sent: (visit, 0) for a visit reminder, (invoice, days after
-- due) for a follow-up step. Inserted in the transaction that queues the messages, so
-- two workers (or two runs) never send the same one twice.
CREATE TABLE client_reminders (
    account_id  uuid NOT NULL REFERENCES accounts (id),
    kind        text NOT NULL CONSTRAINT client_reminders_kind_check CHECK (kind IN ('visit_reminder', 'invoice_followup')),
    subject_id  uuid NOT NULL,
    step        integer NOT NULL DEFAULT 0,
    message_id  uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, kind, subject_id, step)
);
ALTER TABLE client_reminders ENABLE ROW LEVEL SECURITY;
ALTER TABLE client_reminders FORCE ROW LEVEL SECURITY;
CREATE POLICY client_reminders_tenant ON client_reminders USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());
