-- Directory entries v2 (issue 10): per-account version and hash chain; devices certified by the identity
-- key or by another device; signed revocations kept (and shown) so every client can check them; link
-- confirmations for devices linked by code.
CREATE TABLE directory_versions (
  username TEXT PRIMARY KEY,
  version BIGINT NOT NULL,
  -- SHA-256 of the account's previous entry (empty for version 1), and of its current one.
  previous {{blob}} NOT NULL,
  entry_hash {{blob}} NOT NULL
);

ALTER TABLE devices ADD COLUMN certified_by TEXT;
ALTER TABLE devices ADD COLUMN revocation_signature {{blob}};
ALTER TABLE devices ADD COLUMN revoked_by TEXT;

CREATE TABLE device_links (
  device_id TEXT PRIMARY KEY,
  link_confirmation {{blob}} NOT NULL,
  created_at BIGINT NOT NULL
);
