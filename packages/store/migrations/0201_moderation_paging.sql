-- Paging a bank in id order (exports, loading a matcher) without sorting: one index per access path.
CREATE INDEX moderation_signals_by_bank ON moderation_signals (bank, id);
CREATE INDEX moderation_signals_by_bank_type ON moderation_signals (bank, signal_type, id);
DROP INDEX moderation_signals_by_type;
