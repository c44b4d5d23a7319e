-- The account a background job belongs to, read from its payload: apalis stores a job
-- as bytes, and ours (`platform::queue::Job`) are JSON with an `account_id`. The admin
-- job listing filters on it, and `platform::queue::migrate` indexes it on
-- `apalis.jobs` (that table is created after our migrations, by apalis's own).
-- IMMUTABLE so that it can be indexed: the result depends on the bytes alone. A payload
-- that is not such JSON has no account (NULL) rather than failing the insert.
CREATE FUNCTION jobber_job_account(job bytea) RETURNS uuid
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (convert_from(job, 'UTF8')::jsonb ->> 'account_id')::uuid;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;
