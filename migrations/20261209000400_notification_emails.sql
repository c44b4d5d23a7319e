-- Staff emails for notifications (issue 11): which kinds of notification each person
-- also wants by email. A person without a row has their role's defaults (owners and
-- admins: quote approved, changes requested, new request or booking, invoice paid;
-- everyone else: none), so the defaults follow a change of role until the person
-- chooses; a row replaces them (an empty list: no emails).
CREATE TABLE notification_email_settings (
    account_id  uuid NOT NULL REFERENCES accounts (id),
    user_id     uuid NOT NULL,
    -- Notification kinds (`quote_approved`, ...), checked by the application.
    kinds       text[] NOT NULL DEFAULT '{}',
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, user_id),
    CONSTRAINT notification_email_settings_user_fkey FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
CREATE TRIGGER notification_email_settings_updated_at BEFORE UPDATE ON notification_email_settings FOR EACH ROW EXECUTE FUNCTION set_updated_at();
ALTER TABLE notification_email_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE notification_email_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY notification_email_settings_tenant ON notification_email_settings USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());

-- The outbox message a notification was emailed as: set in the fan-out's own
-- transaction, so a notification is emailed at most once however often its job runs.
ALTER TABLE notifications ADD COLUMN email_message_id uuid;
