-- Interior nodes kept in the row of the leaf that completes them: log_leaves.nodes holds the hashes of
-- levels 1..t concatenated (t = the number of trailing one bits of idx; node (level, index) is completed by
-- leaf (index + 1) * 2^level - 1), so an append writes one row per entry instead of about two. Rows written
-- before this migration keep their nodes in log_nodes, which is still read (and no longer written).
ALTER TABLE log_leaves ADD COLUMN nodes {{blob}};
