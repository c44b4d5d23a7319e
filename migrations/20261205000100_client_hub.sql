-- The client hub: the account's Stripe publishable key (public by design: the
-- payer's browser loads Stripe's Payment Element with it), so the hub can take
-- cards without the office sharing anything secret.
ALTER TABLE stripe_settings ADD COLUMN publishable_key text
    CONSTRAINT stripe_settings_publishable_key_check CHECK (publishable_key IS NULL OR publishable_key LIKE 'pk\_%');
