-- Images made by the image.processing queue.
--
-- A job attachment that is a picture gets a thumbnail: `pending` from the upload
-- until the worker has written it (`ready`, at thumbnail_key) or found the picture
-- undecodable (`failed`). Documents (PDF) have no thumbnail (NULL).
ALTER TABLE job_attachments
    ADD COLUMN thumbnail_key text,
    ADD COLUMN thumbnail_status text CHECK (thumbnail_status IN ('pending', 'ready', 'failed'));

-- A client's avatar: each upload has its own id, so a download address never shows
-- a half-replaced picture. avatar_source_key is the uploaded original, kept until
-- the worker has cropped it to the square avatar.
ALTER TABLE clients
    ADD COLUMN avatar_id uuid,
    ADD COLUMN avatar_status text CHECK (avatar_status IN ('pending', 'ready', 'failed')),
    ADD COLUMN avatar_source_key text,
    ADD CONSTRAINT clients_avatar_consistent CHECK ((avatar_id IS NULL) = (avatar_status IS NULL));

-- Pictures attached before thumbnails existed get theirs too: marked pending and
-- queued through the outbox, as an upload would. The owner is subject to row-level
-- security where it is no superuser (RDS), so the policy is lifted for the
-- statements that read and mark them.
ALTER TABLE job_attachments NO FORCE ROW LEVEL SECURITY;
UPDATE job_attachments SET thumbnail_status = 'pending' WHERE content_type LIKE 'image/%';
INSERT INTO job_outbox (account_id, id, queue, payload)
SELECT account_id, gen_random_uuid(), 'image.processing',
       jsonb_build_object('task', 'attachment_thumbnail', 'id', id)
  FROM job_attachments WHERE thumbnail_status = 'pending';
ALTER TABLE job_attachments FORCE ROW LEVEL SECURITY;
