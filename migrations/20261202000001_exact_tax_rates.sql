-- Tax rates exact to 1/10,000 of a percent (ARCHITECTURE §2): 8.875 % (New York
-- City) and 9.975 % (Québec) do not fit in basis points.
--
-- * tax_rates.rate_ppm: the rate in millionths of the amount taxed (8.875 % =
--   88750), copied exactly from rate_bps (one basis point is 100 millionths).
--   rate_bps stays, as the rate rounded half up to basis points (what the API
--   still shows as the deprecated `rate_bps`); a constraint keeps it in step.
-- * The snapshots of rates on quotes, jobs and invoices (jsonb arrays of
--   {"name", "rate_bps", ...}) gain "rate", the exact percentage as text
--   ("8.25" for 825 basis points), which is what the code reads from now on.
--
-- The owner is subject to row-level security where it is no superuser (RDS), so
-- the policy is lifted for the statements that copy the data. The documents'
-- updated_at triggers are held off: their content does not change, only how a
-- rate is written.

ALTER TABLE tax_rates ADD COLUMN rate_ppm integer;
ALTER TABLE tax_rates NO FORCE ROW LEVEL SECURITY;
UPDATE tax_rates SET rate_ppm = rate_bps * 100;
ALTER TABLE tax_rates FORCE ROW LEVEL SECURITY;
ALTER TABLE tax_rates
    ALTER COLUMN rate_ppm SET NOT NULL,
    ADD CONSTRAINT tax_rates_rate_ppm_check CHECK (rate_ppm BETWEEN 0 AND 1000000),
    ADD CONSTRAINT tax_rates_rate_bps_rounded CHECK (rate_bps = (rate_ppm + 50) / 100);

-- 825 -> "8.25", 1000 -> "10", 0 -> "0": the same text the application writes.
CREATE FUNCTION pg_temp.exact_rates(taxes jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    AS $$
        SELECT coalesce(jsonb_agg(
                   CASE WHEN t ? 'rate' THEN t
                        ELSE t || jsonb_build_object('rate', trim_scale((t->>'rate_bps')::numeric / 100)::text)
                   END ORDER BY n), '[]'::jsonb)
        FROM jsonb_array_elements(taxes) WITH ORDINALITY AS e(t, n)
    $$;

ALTER TABLE quotes NO FORCE ROW LEVEL SECURITY, DISABLE TRIGGER quotes_updated_at;
UPDATE quotes SET taxes = pg_temp.exact_rates(taxes) WHERE taxes <> '[]'::jsonb;
ALTER TABLE quotes FORCE ROW LEVEL SECURITY, ENABLE TRIGGER quotes_updated_at;

ALTER TABLE jobs NO FORCE ROW LEVEL SECURITY, DISABLE TRIGGER jobs_updated_at;
UPDATE jobs SET taxes = pg_temp.exact_rates(taxes) WHERE taxes IS NOT NULL AND taxes <> '[]'::jsonb;
ALTER TABLE jobs FORCE ROW LEVEL SECURITY, ENABLE TRIGGER jobs_updated_at;

ALTER TABLE invoices NO FORCE ROW LEVEL SECURITY, DISABLE TRIGGER invoices_updated_at;
UPDATE invoices SET taxes = pg_temp.exact_rates(taxes) WHERE taxes <> '[]'::jsonb;
ALTER TABLE invoices FORCE ROW LEVEL SECURITY, ENABLE TRIGGER invoices_updated_at;
