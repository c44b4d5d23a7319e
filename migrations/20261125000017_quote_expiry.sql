-- Quotes past their valid_until without an answer expire (the scheduler marks
-- them); the business can edit and send them again, which sets a new date.
ALTER TABLE quotes DROP CONSTRAINT quotes_status_check;
ALTER TABLE quotes ADD CONSTRAINT quotes_status_check
    CHECK (status IN ('draft', 'sent', 'approved', 'declined', 'changes_requested', 'converted', 'archived', 'expired'));
ALTER TABLE quotes ADD COLUMN expired_at timestamptz;
CREATE INDEX quotes_awaiting_expiry_idx ON quotes (account_id, valid_until) WHERE status IN ('sent', 'changes_requested');
