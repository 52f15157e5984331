-- Refusals and cancellations bind everywhere (lawful access, docs/LAWFUL-ACCESS.md).
-- Provider: the refusals and cancellations it logged (a refused warrant id is dead; each cancellation is
-- used once), and the urgent warrants it accepted per target (an urgent warrant that lapsed unapproved
-- cannot be followed by another urgent one on the same target without a judge).
CREATE TABLE lawful_refusals (
  warrant_id TEXT PRIMARY KEY,
  notice TEXT NOT NULL,
  leaf_index BIGINT NOT NULL
);

CREATE TABLE lawful_cancellations (
  nonce TEXT PRIMARY KEY,
  warrant_id TEXT NOT NULL,
  revision BIGINT NOT NULL,
  cancelled_at BIGINT NOT NULL,
  leaf_index BIGINT NOT NULL
);

CREATE TABLE lawful_urgent_warrants (
  warrant_id TEXT NOT NULL,
  target TEXT NOT NULL,
  approve_by BIGINT NOT NULL,
  approved_at BIGINT,
  PRIMARY KEY (warrant_id, target)
);
CREATE INDEX lawful_urgent_warrants_by_target ON lawful_urgent_warrants (target);

-- Custodian: every refusal and cancellation it knows of (from the log or sent to it), one row each.
CREATE TABLE custodian_warrant_decisions (
  decision_key TEXT PRIMARY KEY,
  warrant_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  document TEXT NOT NULL
);
CREATE INDEX custodian_warrant_decisions_by_warrant ON custodian_warrant_decisions (warrant_id);

-- The old one-cancellation-per-warrant table: cancellations now carry a revision and nonce (above).
DROP TABLE custodian_cancellations;
