-- The provider's part in unsealing (apps/server lawfulAccess.ts; packages/lawful-access unsealing.ts):
-- each accepted warrant revision's opening (the signed warrant and its commitment nonce), kept until
-- the end of its secrecy period (`unseal_by`, also in its log entry), then published in the log.
CREATE TABLE lawful_unsealings (
  commitment TEXT PRIMARY KEY,
  warrant_id TEXT NOT NULL,
  revision BIGINT NOT NULL,
  signed_warrant TEXT NOT NULL,
  nonce TEXT NOT NULL,
  unseal_by BIGINT NOT NULL,
  -- the unsealing entry's leaf once published
  leaf_index BIGINT
);
CREATE INDEX lawful_unsealings_due ON lawful_unsealings (leaf_index, unseal_by);
