-- Prospective interception (lawful access). A task exists for each target of a warrant that is in force
-- and logged; while a task's window is open, messages to or from its target are retained (delivery
-- metadata and the transport frame: sealed payload and escrow field), and nothing else ever is.

CREATE TABLE interception_tasks (
  warrant_id TEXT NOT NULL,
  revision BIGINT NOT NULL,
  target TEXT NOT NULL,
  agency TEXT NOT NULL,
  products TEXT NOT NULL,
  window_start BIGINT NOT NULL,
  window_end BIGINT NOT NULL,
  max_messages BIGINT NOT NULL,
  commitment {{blob}} NOT NULL,
  leaf_index BIGINT NOT NULL,
  PRIMARY KEY (warrant_id, target)
);
CREATE INDEX interception_tasks_by_target ON interception_tasks (target);

CREATE TABLE intercepts (
  id {{serial}},
  warrant_id TEXT NOT NULL,
  group_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  client_message_id TEXT NOT NULL,
  sender TEXT NOT NULL,
  sender_device TEXT NOT NULL,
  recipients TEXT NOT NULL,
  server_time BIGINT NOT NULL,
  size BIGINT NOT NULL,
  frame {{blob}} NOT NULL,
  UNIQUE (warrant_id, group_id, seq)
);
CREATE INDEX intercepts_by_warrant ON intercepts (warrant_id, id);

-- Each warrant revision the server accepted, as submitted (to check modifications and renewals).
CREATE TABLE lawful_warrants (
  warrant_id TEXT NOT NULL,
  revision BIGINT NOT NULL,
  document TEXT NOT NULL,
  accepted_at BIGINT NOT NULL,
  PRIMARY KEY (warrant_id, revision)
);

-- Nonces of signed agency requests, kept until they could no longer be replayed.
CREATE TABLE agency_nonces (
  nonce TEXT PRIMARY KEY,
  expires_at BIGINT NOT NULL
);

-- Custodians' release records already appended to the transparency log (each is logged once).
CREATE TABLE logged_releases (
  release_key TEXT PRIMARY KEY,
  leaf_index BIGINT NOT NULL
);
