-- A custodian's own view of the transparency log, kept across restarts (apps/custodian logFollower.ts):
-- the latest checkpoint it accepted (log-signed, witnessed, consistent with every earlier one), the
-- compact frontier of the tree it recomputed from every entry it read, and the release records it read
-- from the log — from which it counts a warrant's releases by every custodian (global limits).
CREATE TABLE custodian_log_state (
  id INTEGER PRIMARY KEY,
  size BIGINT NOT NULL,
  root_hash {{blob}} NOT NULL,
  checkpoint TEXT NOT NULL,
  frontier TEXT NOT NULL
);

CREATE TABLE custodian_log_releases (
  leaf_index BIGINT PRIMARY KEY,
  warrant_commitment TEXT NOT NULL,
  message_digest TEXT NOT NULL,
  custodian BIGINT NOT NULL,
  request_id TEXT NOT NULL,
  released_at BIGINT NOT NULL
);
CREATE INDEX custodian_log_releases_by_warrant ON custodian_log_releases (warrant_commitment, leaf_index);
CREATE INDEX custodian_log_releases_by_request ON custodian_log_releases (custodian, request_id);
