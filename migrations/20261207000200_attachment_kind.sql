-- What an attachment is, said by whoever uploads it (issue 13): a `photo`, the
-- client's `signature` collected at a visit, or a `document`. Rows from before are
-- classified as the office used to recognise them: a picture named `signature-…`
-- (the field app's name for the drawn signature) is a signature, any other picture
-- a photo, the rest documents.
ALTER TABLE job_attachments ADD COLUMN kind text;
UPDATE job_attachments SET kind = CASE
    WHEN content_type LIKE 'image/%' AND filename LIKE 'signature-%' THEN 'signature'
    WHEN content_type LIKE 'image/%' THEN 'photo'
    ELSE 'document'
END;
ALTER TABLE job_attachments
    ALTER COLUMN kind SET NOT NULL,
    ADD CONSTRAINT job_attachments_kind_check CHECK (kind IN ('photo', 'signature', 'document'));
