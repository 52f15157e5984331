-- Retro-sweeps: a bank's new signals checked against content already published. A sweep runs by
-- phase and page and saves its cursor after every page, so it resumes after a restart.
CREATE TABLE moderation_sweeps (
  id {{serial}},
  bank TEXT NOT NULL,
  -- the new signals: ids in (after_signal_id, upto_signal_id], or an explicit JSON list
  after_signal_id BIGINT NOT NULL,
  upto_signal_id BIGINT NOT NULL,
  signal_ids TEXT,
  status TEXT NOT NULL,
  phase TEXT NOT NULL,
  -- last moderation_content_signals.id done in the current phase
  cursor BIGINT NOT NULL,
  checked BIGINT NOT NULL,
  matched BIGINT NOT NULL,
  actioned BIGINT NOT NULL,
  total BIGINT NOT NULL,
  error TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  finished_at BIGINT
);
CREATE INDEX moderation_sweeps_by_status ON moderation_sweeps (status, id);

-- What a sweep found: one row per subject it matched (its decision, if one was taken).
CREATE TABLE moderation_sweep_findings (
  sweep_id BIGINT NOT NULL,
  subject TEXT NOT NULL,
  verdict TEXT NOT NULL,
  decision_id BIGINT,
  matches TEXT NOT NULL,
  found_at BIGINT NOT NULL,
  PRIMARY KEY (sweep_id, subject)
);
