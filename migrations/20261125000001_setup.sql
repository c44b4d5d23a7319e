-- Shared pieces every later migration relies on.
--
-- Tenancy (ARCHITECTURE §2): every tenant table has account_id, a primary key
-- (account_id, id), composite foreign keys, and row-level security with FORCE keyed on
-- app_account_id(). Tenant transactions run as the role jobber_app, which owns nothing,
-- so the policies always apply to them.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'jobber_app') THEN
        CREATE ROLE jobber_app NOLOGIN NOSUPERUSER NOINHERIT NOBYPASSRLS;
    END IF;
    -- A non-superuser connection (RDS) must be a member to SET ROLE to it.
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND NOT pg_has_role(current_user, 'jobber_app', 'MEMBER') THEN
        EXECUTE format('GRANT jobber_app TO %I', current_user);
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO jobber_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO jobber_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO jobber_app;

-- The account the current transaction is confined to; NULL outside a tenant
-- transaction, which makes every policy false.
CREATE FUNCTION app_account_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('app.account_id', true), '')::uuid $$;

CREATE FUNCTION set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END
$$;
