-- Card payments through Stripe, deposits on quotes, Stripe webhook events.

-- An account's Stripe credentials, encrypted at rest with AES-256-GCM under the
-- server's encryption key (never in the database): nonce (12 bytes) || ciphertext+tag.
CREATE TABLE stripe_settings (
    account_id              uuid NOT NULL REFERENCES accounts (id),
    secret_key_enc          bytea NOT NULL,
    -- Shown back to the owner instead of the key.
    secret_key_last4        text NOT NULL,
    webhook_secret_enc      bytea NOT NULL,
    updated_by              uuid,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id)
);
CREATE TRIGGER stripe_settings_updated_at BEFORE UPDATE ON stripe_settings FOR EACH ROW EXECUTE FUNCTION set_updated_at();
ALTER TABLE stripe_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE stripe_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY stripe_settings_tenant ON stripe_settings USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());

-- Deposits: a payment against a quote (quote_id) before there is an invoice. When an
-- invoice is created from a job of that quote, the deposit is applied to it
-- (invoice_id set, quote_id kept to show where it came from).
ALTER TABLE payments ALTER COLUMN invoice_id DROP NOT NULL;
ALTER TABLE payments ADD COLUMN quote_id uuid;
ALTER TABLE payments ADD CONSTRAINT payments_quote_fkey FOREIGN KEY (account_id, quote_id) REFERENCES quotes (account_id, id) ON DELETE RESTRICT;
ALTER TABLE payments ADD CONSTRAINT payments_target_check CHECK (invoice_id IS NOT NULL OR quote_id IS NOT NULL);
-- The Stripe PaymentIntent of a card payment taken through jobber.
ALTER TABLE payments ADD COLUMN stripe_payment_intent_id text;
ALTER TABLE payments ADD CONSTRAINT payments_intent_key UNIQUE (account_id, stripe_payment_intent_id);
CREATE INDEX payments_quote_idx ON payments (account_id, quote_id) WHERE quote_id IS NOT NULL;

-- The one global directory for webhooks: which account a PaymentIntent belongs to, so
-- an event (which carries no jobber credentials) is verified with that account's
-- signing secret. Readable without a tenant, like user_logins; written only by it.
CREATE TABLE stripe_payment_intents (
    intent_id   text PRIMARY KEY,
    account_id  uuid NOT NULL,
    payment_id  uuid NOT NULL,
    CONSTRAINT stripe_payment_intents_payment_fkey FOREIGN KEY (account_id, payment_id) REFERENCES payments (account_id, id) ON DELETE CASCADE
);
CREATE INDEX stripe_payment_intents_payment_idx ON stripe_payment_intents (account_id, payment_id);
ALTER TABLE stripe_payment_intents ENABLE ROW LEVEL SECURITY;
ALTER TABLE stripe_payment_intents FORCE ROW LEVEL SECURITY;
CREATE POLICY stripe_payment_intents_lookup ON stripe_payment_intents FOR SELECT USING (true);
CREATE POLICY stripe_payment_intents_insert ON stripe_payment_intents FOR INSERT WITH CHECK (account_id = app_account_id());
CREATE POLICY stripe_payment_intents_delete ON stripe_payment_intents FOR DELETE USING (account_id = app_account_id());

-- Webhook events processed, so a redelivered event is a no-op.
CREATE TABLE stripe_events (
    account_id   uuid NOT NULL REFERENCES accounts (id),
    event_id     text NOT NULL,
    type         text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, event_id)
);
ALTER TABLE stripe_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE stripe_events FORCE ROW LEVEL SECURITY;
CREATE POLICY stripe_events_tenant ON stripe_events USING (account_id = app_account_id()) WITH CHECK (account_id = app_account_id());
