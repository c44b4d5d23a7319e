-- Tickets of the live connection (`POST /api/v1/ws/tickets`, docs/events.md) work once
-- across every API process: a connection that redeems one records its id here in
-- the account's transaction, and a second redemption, on this process or another,
-- finds it. A row is needed only while its ticket is valid (30 seconds); each
-- redemption deletes its account's expired rows.
CREATE TABLE live_ticket_redemptions (
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    ticket_id   uuid NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (account_id, ticket_id)
);
ALTER TABLE live_ticket_redemptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE live_ticket_redemptions FORCE ROW LEVEL SECURITY;
CREATE POLICY live_ticket_redemptions_tenant ON live_ticket_redemptions
    USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());
