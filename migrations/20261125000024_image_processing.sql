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
