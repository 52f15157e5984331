-- Per-bank matching configuration, as HMA keeps it: a bank without a row has the defaults
-- (enabled, not negative, PDQ threshold 31, rolled out to all content, action block).
CREATE TABLE moderation_bank_settings (
  bank TEXT PRIMARY KEY REFERENCES moderation_banks (name) ON DELETE CASCADE,
  enabled INTEGER NOT NULL,
  negative INTEGER NOT NULL,
  pdq_threshold INTEGER NOT NULL,
  -- share of content the bank acts on, in basis points (10000 = all)
  rollout_bp INTEGER NOT NULL,
  action TEXT NOT NULL,
  public_label TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);
