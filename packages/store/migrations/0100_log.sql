-- Transparency logs (RFC 9162), several per database (one per origin): entries with their leaf
-- hashes, the hash of every complete aligned subtree (so proofs read O(log n) rows, never recompute
-- the tree), the signed checkpoints and the witness cosignatures collected for them.

CREATE TABLE log_state (
  log_id TEXT PRIMARY KEY,
  size BIGINT NOT NULL
);

CREATE TABLE log_leaves (
  log_id TEXT NOT NULL,
  idx BIGINT NOT NULL,
  data {{blob}} NOT NULL,
  leaf_hash {{blob}} NOT NULL,
  PRIMARY KEY (log_id, idx)
);

-- Interior nodes, level >= 1, keyed by their in-order position: index * 2^(level+1) + 2^level - 1.
CREATE TABLE log_nodes (
  log_id TEXT NOT NULL,
  pos BIGINT NOT NULL,
  hash {{blob}} NOT NULL,
  PRIMARY KEY (log_id, pos)
);

CREATE TABLE log_checkpoints (
  log_id TEXT NOT NULL,
  size BIGINT NOT NULL,
  root_hash {{blob}} NOT NULL,
  note TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (log_id, size)
);

CREATE TABLE log_cosignatures (
  log_id TEXT NOT NULL,
  size BIGINT NOT NULL,
  witness TEXT NOT NULL,
  key_id BIGINT NOT NULL,
  timestamp BIGINT NOT NULL,
  line TEXT NOT NULL,
  PRIMARY KEY (log_id, size, witness, key_id)
);
