-- Branding of client emails: the accent colour of their header and buttons (the
-- logo is `logo_key`, uploaded through PUT /settings/logo).
ALTER TABLE accounts
    ADD COLUMN brand_color text NOT NULL DEFAULT '#2F6F4E'
        CONSTRAINT accounts_brand_color_check CHECK (brand_color ~ '^#[0-9A-F]{6}$');
