-- A custodian's key ceremony in progress (apps/custodian, lawful-access ceremony.ts): after round 2 it
-- keeps its share (wrapped under the epoch's wrapping key file) and the transcript it signed, so that a
-- ceremony that stopped part-way can be finished after a restart; after certification it keeps the
-- certificate and its own completion. Activation (all n completions) moves the epoch to custodian_epochs.

CREATE TABLE custodian_dkg (
  epoch BIGINT PRIMARY KEY,
  -- 'signed' (round 2 done) or 'certified' (completion signed: this transcript is final here)
  state TEXT NOT NULL,
  transcript {{blob}} NOT NULL,
  -- the round-1 messages (JSON) the transcript covers
  messages TEXT NOT NULL,
  public_key {{blob}} NOT NULL,
  share {{blob}} NOT NULL,
  certificate TEXT,
  completion TEXT,
  updated_at BIGINT NOT NULL
);
