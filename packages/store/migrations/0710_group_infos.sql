-- Issue 10: the Delivery Service keeps the GroupInfo each committer leaves for the epoch its commit starts
-- (RFC 9420 §12.4.3, with external_pub and the ratchet tree), so that a member device whose state is lost can
-- rejoin by external commit (§12.4.3.2). Only the two latest epochs are kept per group (the one before the
-- latest serves again when the latest commit is voided); only the group's member devices may read them.
CREATE TABLE group_infos (
  group_id TEXT NOT NULL,
  epoch BIGINT NOT NULL,
  group_info {{blob}} NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (group_id, epoch)
);
