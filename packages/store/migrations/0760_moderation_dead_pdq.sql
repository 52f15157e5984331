-- The tombstoned PDQ signals of a bank by id (few, next to the millions live): a matcher reopening its
-- stored prebuilt index reconciles it with the bank from these alone (revived since: added; removed since:
-- dropped) instead of counting every live row (migration 0250's index, ~15 s cold at 10M on SQLite).
CREATE INDEX moderation_signals_dead_pdq ON moderation_signals (bank, id) WHERE signal_type = 'pdq' AND removed_at IS NOT NULL;
