-- A platform's side of the hash-sharing hub (packages/hub/src/platform): how far its feed has been read
-- and verified (the log position, the Merkle frontier there, the last checkpoint seen), how far local
-- opinions have been sent on, and what of its own banks it has published.
CREATE TABLE hub_sync (
  hub TEXT PRIMARY KEY,
  log_key TEXT NOT NULL,
  cursor BIGINT NOT NULL,
  frontier TEXT NOT NULL,
  checkpoint_size BIGINT NOT NULL,
  checkpoint_root TEXT NOT NULL,
  opinions_cursor BIGINT NOT NULL,
  status TEXT NOT NULL,
  error TEXT,
  updated_at BIGINT NOT NULL
);

CREATE TABLE hub_publish (
  hub TEXT NOT NULL,
  bank TEXT NOT NULL,
  after_id BIGINT NOT NULL,
  removed_after BIGINT NOT NULL,
  PRIMARY KEY (hub, bank)
);
