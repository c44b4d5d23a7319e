-- An event's `created_at` is when it was written, just before its transaction
-- commits (clock_timestamp), not when the transaction began (now()): the live hub
-- measures commit-to-socket latency from it, and a long transaction would otherwise
-- look slow to deliver.
ALTER TABLE events ALTER COLUMN created_at SET DEFAULT clock_timestamp();
