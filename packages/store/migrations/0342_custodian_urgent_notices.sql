-- Urgent notices a custodian read from the log (apps/custodian logFollower.ts; packages/lawful-access
-- urgentNotices.ts): the tags addressed to this custodian in release records made under urgent warrants,
-- one row per target tag, so it can refuse a second urgent warrant on a target whose earlier urgent
-- warrant lapsed unapproved or was refused (serial_urgent), whatever the provider checked.
CREATE TABLE custodian_log_urgent (
  leaf_index BIGINT NOT NULL,
  custodian BIGINT NOT NULL,
  warrant_commitment TEXT NOT NULL,
  warrant_tag TEXT NOT NULL,
  target_tag TEXT NOT NULL,
  approved INTEGER NOT NULL,
  approve_by BIGINT NOT NULL,
  PRIMARY KEY (leaf_index, target_tag)
);
CREATE INDEX custodian_log_urgent_by_target ON custodian_log_urgent (custodian, target_tag);
