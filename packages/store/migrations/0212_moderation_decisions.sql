-- Every decision of the upload check and the retro-sweep, with everything that matched (JSON), so
-- notices, statements of reasons, appeals, transparency reports and ads read what was decided.
CREATE TABLE moderation_decisions (
  id {{serial}},
  subject TEXT NOT NULL,
  uploader TEXT,
  stage TEXT NOT NULL,
  verdict TEXT NOT NULL,
  reasons TEXT NOT NULL,
  matches TEXT NOT NULL,
  labels TEXT NOT NULL,
  content_types TEXT NOT NULL,
  automated_detection INTEGER NOT NULL,
  automated_decision INTEGER NOT NULL,
  content_created_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  sweep_id BIGINT
);
CREATE INDEX moderation_decisions_by_subject ON moderation_decisions (subject, id);
CREATE INDEX moderation_decisions_by_time ON moderation_decisions (created_at, id);
