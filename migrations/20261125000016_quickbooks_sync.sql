-- QuickBooks Online: an account's OAuth connection and the map of what jobber pushed.

-- One connection per account (the company file = realm). Tokens are encrypted at rest
-- with AES-256-GCM under the server's encryption key, bound to "<account>:<kind>".
CREATE TABLE quickbooks_connections (
    account_id          uuid NOT NULL REFERENCES accounts (id),
    realm_id            text NOT NULL,
    access_token_enc    bytea NOT NULL,
    access_expires_at   timestamptz NOT NULL,
    refresh_token_enc   bytea NOT NULL,
    refresh_expires_at  timestamptz,
    connected_by        uuid,
    connected_at        timestamptz NOT NULL DEFAULT now(),
    last_sync_at        timestamptz,
    -- A failure of the connection itself (refresh refused: reconnect needed).
    last_error          text,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id)
);
CREATE TRIGGER quickbooks_connections_updated_at BEFORE UPDATE ON quickbooks_connections FOR EACH ROW EXECUTE FUNCTION set_updated_at();
ALTER TABLE quickbooks_connections ENABLE ROW LEVEL SECURITY;
ALTER TABLE quickbooks_connections FORCE ROW LEVEL SECURITY;
CREATE POLICY quickbooks_connections_tenant ON quickbooks_connections USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());

-- One row per local record pushed (or to push): the QuickBooks Id and SyncToken, the
-- state of the last attempt and its error. `id` (with `-<refusals>` once QuickBooks
-- refused a create) is the `requestid` of the create call, so a create repeated after
-- a crash or a timeout returns the first object, not a second; QuickBooks also repeats
-- a refusal for a requestid, so after one the next create uses a new requestid.
-- `wanted_version` counts the changes that asked for a push; `synced_version` is the
-- one the last successful push carried, so a job that runs twice pushes once.
CREATE TABLE quickbooks_records (
    account_id      uuid NOT NULL REFERENCES accounts (id),
    id              uuid NOT NULL,
    kind            text NOT NULL CONSTRAINT quickbooks_records_kind_check CHECK (kind IN ('customer', 'invoice', 'payment')),
    local_id        uuid NOT NULL,
    realm_id        text NOT NULL,
    qbo_id          text,
    sync_token      text,
    state           text NOT NULL DEFAULT 'pending' CONSTRAINT quickbooks_records_state_check CHECK (state IN ('pending', 'synced', 'failed')),
    last_error      text,
    attempts        integer NOT NULL DEFAULT 0,
    refusals        integer NOT NULL DEFAULT 0,
    wanted_version  integer NOT NULL DEFAULT 1,
    synced_version  integer NOT NULL DEFAULT 0,
    synced_at       timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    CONSTRAINT quickbooks_records_local_key UNIQUE (account_id, kind, local_id)
);
CREATE TRIGGER quickbooks_records_updated_at BEFORE UPDATE ON quickbooks_records FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE INDEX quickbooks_records_state_idx ON quickbooks_records (account_id, state, updated_at DESC);
ALTER TABLE quickbooks_records ENABLE ROW LEVEL SECURITY;
ALTER TABLE quickbooks_records FORCE ROW LEVEL SECURITY;
CREATE POLICY quickbooks_records_tenant ON quickbooks_records USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());
