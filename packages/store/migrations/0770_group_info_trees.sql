-- Issue 10: a large group's ratchet tree does not fit in a GroupInfo (above ~4,000 members it passes 1 MiB), so
-- a committer may leave the GroupInfo without its `ratchet_tree` extension and the tree beside it (RFC 9420
-- §12.4.3.3: the joiner gets the tree out of band). Kept per epoch with the GroupInfo, within a per-group quota.
ALTER TABLE group_infos ADD COLUMN ratchet_tree {{blob}};
