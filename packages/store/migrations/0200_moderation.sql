-- Moderation banks: named collections of signals (hashes and URLs of known terrorist content).
-- Signals are never deleted: removal sets removed_at, so hash-sharing peers can sync the removal.

CREATE TABLE moderation_banks (
  name TEXT PRIMARY KEY,
  description TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE moderation_signals (
  id {{serial}},
  bank TEXT NOT NULL REFERENCES moderation_banks (name) ON DELETE CASCADE,
  signal_type TEXT NOT NULL,
  -- canonical value: hex hash, canonical URL rule, or a vPDQ feature list (JSON)
  value TEXT NOT NULL,
  -- SHA-256 of value: vPDQ values are too long for a PostgreSQL btree key
  value_key TEXT NOT NULL,
  -- space-separated labels from the taxonomy in docs/MODERATION.md
  labels TEXT NOT NULL,
  source TEXT NOT NULL,
  -- PDQ quality when known (NULL otherwise)
  quality INTEGER,
  added_at BIGINT NOT NULL,
  removed_at BIGINT
);
CREATE UNIQUE INDEX moderation_signals_by_value ON moderation_signals (bank, signal_type, value_key);
CREATE INDEX moderation_signals_by_type ON moderation_signals (signal_type, id);
