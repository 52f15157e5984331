-- Moderators' opinions on bank signals (packages/moderation opinions.ts): a confirmed match is positive,
-- a decision reversed on appeal is negative (the signal is then disputed). The hub reads them in id order.
CREATE TABLE moderation_signal_opinions (
  id {{serial}},
  signal_id BIGINT NOT NULL,
  bank TEXT NOT NULL,
  -- positive | negative
  opinion TEXT NOT NULL,
  reason TEXT NOT NULL,
  reference TEXT NOT NULL,
  at BIGINT NOT NULL,
  UNIQUE (signal_id, reference)
);
