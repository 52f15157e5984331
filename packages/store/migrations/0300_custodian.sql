-- Lawful-access custodian state. Each custodian runs its own database (apps/custodian): its epoch
-- shares (erased after the retention period), the request ids it has answered (replay protection),
-- its signed release records (published to the transparency log), warrant revisions and cancellations.

CREATE TABLE custodian_epochs (
  epoch BIGINT PRIMARY KEY,
  public_key {{blob}} NOT NULL,
  certificate TEXT NOT NULL,
  -- x_i, the custodian's secret share; NULL once erased
  share {{blob}},
  created_at BIGINT NOT NULL,
  erased_at BIGINT
);

CREATE TABLE custodian_requests (
  request_id TEXT PRIMARY KEY,
  warrant_id TEXT NOT NULL,
  received_at BIGINT NOT NULL
);

CREATE TABLE custodian_releases (
  id {{serial}},
  warrant_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  request_id TEXT NOT NULL,
  record TEXT NOT NULL,
  released_at BIGINT NOT NULL
);
CREATE INDEX custodian_releases_by_warrant ON custodian_releases (warrant_id, message_id);

CREATE TABLE custodian_warrants (
  warrant_id TEXT PRIMARY KEY,
  highest_revision BIGINT NOT NULL
);

CREATE TABLE custodian_cancellations (
  warrant_id TEXT PRIMARY KEY,
  cancellation TEXT NOT NULL
);
