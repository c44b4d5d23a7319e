-- Notifications are fanned out to their recipients by a notifications.* job: the
-- event's id makes a repeated job insert nothing twice.
ALTER TABLE notifications ADD COLUMN event_id uuid;
CREATE UNIQUE INDEX notifications_event_user_key ON notifications (account_id, event_id, user_id) WHERE event_id IS NOT NULL;
