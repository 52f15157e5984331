-- Signals of content that passed the upload check (or waits for review), kept so that a bank's new
-- signals can be checked against content already published (the retro-sweep). Deleted with the content.
CREATE TABLE moderation_content_signals (
  id {{serial}},
  subject TEXT NOT NULL,
  item TEXT NOT NULL,
  signal_type TEXT NOT NULL,
  -- hex hash, canonical URL, the text itself, or a vPDQ feature list (JSON)
  value TEXT NOT NULL,
  -- MD5, SHA-256 and URLs: the value again, for exact lookups (NULL for long values: text, vPDQ)
  value_key TEXT,
  -- PDQ: quality and which dihedral variant of the content this hash is ('original', 'rot90', …)
  quality INTEGER,
  variant TEXT,
  created_at BIGINT NOT NULL
);
CREATE INDEX moderation_content_signals_by_type ON moderation_content_signals (signal_type, id);
CREATE INDEX moderation_content_signals_by_value ON moderation_content_signals (signal_type, value_key);
CREATE INDEX moderation_content_signals_by_subject ON moderation_content_signals (subject);
