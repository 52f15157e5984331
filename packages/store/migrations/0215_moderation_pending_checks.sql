-- Checks that finish later (a video's vPDQ): the subject stays pending until its row is done, and a
-- restarted server picks up every row not yet done.
CREATE TABLE moderation_pending_checks (
  id {{serial}},
  subject TEXT NOT NULL,
  item TEXT NOT NULL,
  -- where the content is: a blob's SHA-256 (the caller resolves it to a file)
  content_ref TEXT NOT NULL,
  -- the submission as the check saw it (JSON: uploader, items and their signals), to finish it later
  submission TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  error TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX moderation_pending_checks_by_status ON moderation_pending_checks (status, id);
