-- A custodian operator's review of share requests (apps/custodian operatorReview.ts): with an operator
-- key configured, a request that passes every release rule waits here, per message and warrant revision,
-- until the operator decides; the signed command that decided is kept as the record of who decided.
CREATE TABLE custodian_reviews (
  review_id TEXT PRIMARY KEY,
  warrant_id TEXT NOT NULL,
  revision BIGINT NOT NULL,
  message_id TEXT NOT NULL,
  state TEXT NOT NULL,
  -- the agency's signed share request that opened the review (what the operator judges)
  request TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  decision TEXT,
  decided_at BIGINT,
  UNIQUE (warrant_id, revision, message_id)
);
CREATE INDEX custodian_reviews_by_state ON custodian_reviews (state, created_at);

-- Operator command nonces: each command is accepted once (kept past its freshness window).
CREATE TABLE custodian_operator_nonces (
  nonce TEXT PRIMARY KEY,
  expires_at BIGINT NOT NULL
);
