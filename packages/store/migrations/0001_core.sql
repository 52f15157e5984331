-- Core messenger state: accounts and devices, sessions, the key directory, groups, and mailboxes.

CREATE TABLE accounts (
  username TEXT PRIMARY KEY,
  identity_key {{blob}} NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE devices (
  device_id TEXT PRIMARY KEY,
  username TEXT NOT NULL REFERENCES accounts (username),
  signature_key {{blob}} NOT NULL UNIQUE,
  name TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  account_signature {{blob}} NOT NULL,
  revoked_at BIGINT
);
CREATE INDEX devices_by_username ON devices (username);

-- One-time challenges for device authentication; deleted when answered (so a replay finds nothing).
CREATE TABLE auth_challenges (
  challenge {{blob}} PRIMARY KEY,
  device_id TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);

-- Only a hash of each session token is stored.
CREATE TABLE sessions (
  token_hash {{blob}} PRIMARY KEY,
  device_id TEXT NOT NULL,
  username TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_device ON sessions (device_id);

CREATE TABLE key_packages (
  id {{serial}},
  device_id TEXT NOT NULL,
  data {{blob}} NOT NULL,
  last_resort INTEGER NOT NULL
);
CREATE INDEX key_packages_by_device ON key_packages (device_id, last_resort, id);

CREATE TABLE chat_groups (
  group_id TEXT PRIMARY KEY,
  epoch BIGINT NOT NULL,
  next_seq BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE group_members (
  group_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  PRIMARY KEY (group_id, device_id)
);
CREATE INDEX group_members_by_device ON group_members (device_id);

-- A message is stored once and referenced from each recipient's mailbox.
CREATE TABLE messages (
  id {{serial}},
  group_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  kind TEXT NOT NULL,
  epoch BIGINT NOT NULL,
  sender_username TEXT NOT NULL,
  sender_device TEXT NOT NULL,
  client_message_id TEXT NOT NULL,
  payload {{blob}} NOT NULL,
  ratchet_tree {{blob}},
  server_time BIGINT NOT NULL,
  franking_commitment {{blob}},
  franking_tag {{blob}}
);
CREATE INDEX messages_by_group ON messages (group_id, seq);

CREATE TABLE mailbox (
  id {{serial}},
  device_id TEXT NOT NULL,
  message_id BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX mailbox_by_device ON mailbox (device_id, id);
CREATE INDEX mailbox_by_message ON mailbox (message_id);

-- Idempotent sends: a resent client message id returns the first result, for as long as mail may live.
CREATE TABLE sent_messages (
  sender_device TEXT NOT NULL,
  client_message_id TEXT NOT NULL,
  group_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  epoch BIGINT NOT NULL,
  server_time BIGINT NOT NULL,
  franking_tag {{blob}},
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (sender_device, client_message_id)
);
CREATE INDEX sent_messages_by_expiry ON sent_messages (expires_at);

CREATE TABLE blobs (
  group_id TEXT NOT NULL,
  hash TEXT NOT NULL,
  size BIGINT NOT NULL,
  uploaded_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (group_id, hash)
);

CREATE TABLE server_secrets (
  name TEXT PRIMARY KEY,
  value {{blob}} NOT NULL
);

CREATE TABLE abuse_reports (
  id {{serial}},
  group_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  client_message_id TEXT NOT NULL,
  reporter_device TEXT NOT NULL,
  sender_username TEXT NOT NULL,
  sender_device TEXT NOT NULL,
  payload {{blob}} NOT NULL,
  reason TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX abuse_reports_once ON abuse_reports (reporter_device, group_id, seq);
