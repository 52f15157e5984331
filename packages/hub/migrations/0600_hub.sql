-- The hash-sharing hub's own database (apps/hub). Signals, opinions and incidents are a projection of
-- the hub's transparency log (log_leaves, migration 0100): the log is written first, these tables follow
-- it (hub_state.applied is how far), so a crash between the two is repaired by replaying the log.
CREATE TABLE hub_members (
  id {{serial}},
  name TEXT NOT NULL UNIQUE,
  webhook_url TEXT,
  webhook_secret TEXT NOT NULL,
  rate_limit BIGINT,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);

CREATE TABLE hub_keys (
  id {{serial}},
  member_id BIGINT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  scopes TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE INDEX hub_keys_member ON hub_keys (member_id);

CREATE TABLE hub_signals (
  id {{serial}},
  bank TEXT NOT NULL,
  signal_type TEXT NOT NULL,
  value TEXT NOT NULL,
  value_key TEXT NOT NULL,
  labels TEXT NOT NULL,
  quality BIGINT,
  member TEXT NOT NULL,
  incident BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  withdrawn_at BIGINT,
  disputed BIGINT NOT NULL DEFAULT 0,
  log_index BIGINT NOT NULL
);
CREATE UNIQUE INDEX hub_signals_key ON hub_signals (bank, signal_type, value_key);

CREATE TABLE hub_opinions (
  signal_id BIGINT NOT NULL,
  member TEXT NOT NULL,
  opinion TEXT,
  feedback TEXT,
  at BIGINT NOT NULL,
  log_index BIGINT NOT NULL,
  PRIMARY KEY (signal_id, member)
);

CREATE TABLE hub_incidents (
  id BIGINT PRIMARY KEY,
  name TEXT NOT NULL,
  label TEXT NOT NULL,
  declared_at BIGINT NOT NULL,
  closed_at BIGINT,
  log_index BIGINT NOT NULL
);

CREATE TABLE hub_state (
  name TEXT PRIMARY KEY,
  value BIGINT NOT NULL
);
