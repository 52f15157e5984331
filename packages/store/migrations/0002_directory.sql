-- Key transparency for the device directory. A change to an account's devices writes the account's new
-- state to the outbox in the same transaction; the server appends outbox entries to the transparency
-- log and records where each account's latest state sits. A crash between the two only delays the append.

CREATE TABLE directory_outbox (
  id {{serial}},
  username TEXT NOT NULL,
  entry {{blob}} NOT NULL
);

CREATE TABLE directory_leaves (
  username TEXT PRIMARY KEY,
  leaf_index BIGINT NOT NULL,
  entry {{blob}} NOT NULL
);
