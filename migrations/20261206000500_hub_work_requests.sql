-- "Request more work" from the client hub (issue 13): a request the client sends
-- from their own hub page. The client is known (its `client_id` is set from the
-- start), so converting it needs no lookup by email.
ALTER TABLE work_requests DROP CONSTRAINT work_requests_source_check;
ALTER TABLE work_requests ADD CONSTRAINT work_requests_source_check CHECK (source IN ('form', 'booking', 'hub'));
