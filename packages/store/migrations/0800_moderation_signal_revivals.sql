-- Signals revived from a tombstone (re-added after removal), in order: a revival keeps the signal's id,
-- so a running matcher, which follows new signals by id, reads this log to pick revived ones up too
-- (LiveBanks.refresh). Written by the trigger in 0801 whichever writer revives (import, hub sync, API).
CREATE TABLE moderation_signal_revivals (
  seq {{serial}},
  signal_id BIGINT NOT NULL
);
