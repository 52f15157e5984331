-- The live PDQ signals of a bank by id: lets a matcher check a stored prebuilt index against the bank
-- (COUNT and SUM of ids up to the index's last id) from the index alone, without reading 10M rows.
CREATE INDEX moderation_signals_live_pdq ON moderation_signals (bank, id) WHERE signal_type = 'pdq' AND removed_at IS NULL;
