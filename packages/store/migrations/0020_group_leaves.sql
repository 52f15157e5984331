-- Issue 10: the Delivery Service reads commits (public handshake messages) instead of trusting the routing
-- a client declares. It keeps each group's leaves (which device sits at which MLS leaf index, placed as
-- RFC 9420 places them: an add takes the leftmost blank leaf), its admin list (the GroupContext extension,
-- JSON; NULL: no admins), and a record of each commit's changes so a commit the members find invalid can be
-- voided (group_commits, commit_rejections). Groups created before this migration have no leaf map
-- (checked = 0) and keep the old behaviour.
ALTER TABLE chat_groups ADD COLUMN checked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE chat_groups ADD COLUMN admins TEXT;

CREATE TABLE group_leaves (
  group_id TEXT NOT NULL,
  leaf_index INTEGER NOT NULL,
  device_id TEXT NOT NULL,
  username TEXT NOT NULL,
  PRIMARY KEY (group_id, leaf_index)
);

CREATE TABLE group_commits (
  group_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  epoch BIGINT NOT NULL,
  sender_username TEXT NOT NULL,
  sender_device TEXT NOT NULL,
  -- JSON: { removed: [{leaf, deviceId, username}], added: [{leaf, deviceId, username}], adminsBefore }
  changes TEXT NOT NULL,
  -- SHA-256 of the commit's bytes: what members' signed rejections name
  commit_hash {{blob}} NOT NULL,
  voided_at BIGINT,
  PRIMARY KEY (group_id, seq)
);

CREATE TABLE commit_rejections (
  group_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  device_id TEXT NOT NULL,
  username TEXT NOT NULL,
  reason TEXT NOT NULL,
  -- the device's signature over commitRejectionBytes (checked by the server, passed on to the committer)
  signature {{blob}} NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (group_id, seq, device_id)
);
