-- PostgreSQL: the mailbox partitioned by device (HASH of device_id, 16 partitions). Every hot statement
-- names its device (a read, an acknowledgement, a send's fan-out row), so each touches one partition's
-- indexes, and a partition is vacuumed, backed up or moved on its own; the capacity model
-- (docs/OPERATIONS.md) takes it from partitions of one database to shards over several. Rows keep their
-- ids (the same sequence continues); the key becomes (device_id, id), as a partitioned table's primary
-- key must hold the partition key. SQLite (one embedded file) keeps one table.
ALTER TABLE mailbox RENAME TO mailbox_unpartitioned;
ALTER TABLE mailbox_unpartitioned DROP CONSTRAINT mailbox_pkey;
DROP INDEX mailbox_by_device;
DROP INDEX mailbox_by_message;
ALTER SEQUENCE mailbox_id_seq OWNED BY NONE;
ALTER TABLE mailbox_unpartitioned ALTER COLUMN id DROP DEFAULT;

CREATE TABLE mailbox (
  id BIGINT NOT NULL DEFAULT nextval('mailbox_id_seq'),
  device_id TEXT NOT NULL,
  message_id BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (device_id, id)
) PARTITION BY HASH (device_id);
CREATE TABLE mailbox_p00 PARTITION OF mailbox FOR VALUES WITH (MODULUS 16, REMAINDER 0);
CREATE TABLE mailbox_p01 PARTITION OF mailbox FOR VALUES WITH (MODULUS 16, REMAINDER 1);
CREATE TABLE mailbox_p02 PARTITION OF mailbox FOR VALUES WITH (MODULUS 16, REMAINDER 2);
CREATE TABLE mailbox_p03 PARTITION OF mailbox FOR VALUES WITH (MODULUS 16, REMAINDER 3);
CREATE TABLE mailbox_p04 PARTITION OF mailbox FOR VALUES WITH (MODULUS 16, REMAINDER 4);
CREATE TABLE mailbox_p05 PARTITION OF mailbox FOR VALUES WITH (MODULUS 16, REMAINDER 5);
CREATE TABLE mailbox_p06 PARTITION OF mailbox FOR VALUES WITH (MODULUS 16, REMAINDER 6);
CREATE TABLE mailbox_p07 PARTITION OF mailbox FOR VALUES WITH (MODULUS 16, REMAINDER 7);
CREATE TABLE mailbox_p08 PARTITION OF mailbox FOR VALUES WITH (MODULUS 16, REMAINDER 8);
CREATE TABLE mailbox_p09 PARTITION OF mailbox FOR VALUES WITH (MODULUS 16, REMAINDER 9);
CREATE TABLE mailbox_p10 PARTITION OF mailbox FOR VALUES WITH (MODULUS 16, REMAINDER 10);
CREATE TABLE mailbox_p11 PARTITION OF mailbox FOR VALUES WITH (MODULUS 16, REMAINDER 11);
CREATE TABLE mailbox_p12 PARTITION OF mailbox FOR VALUES WITH (MODULUS 16, REMAINDER 12);
CREATE TABLE mailbox_p13 PARTITION OF mailbox FOR VALUES WITH (MODULUS 16, REMAINDER 13);
CREATE TABLE mailbox_p14 PARTITION OF mailbox FOR VALUES WITH (MODULUS 16, REMAINDER 14);
CREATE TABLE mailbox_p15 PARTITION OF mailbox FOR VALUES WITH (MODULUS 16, REMAINDER 15);

INSERT INTO mailbox (id, device_id, message_id, expires_at) SELECT id, device_id, message_id, expires_at FROM mailbox_unpartitioned;
DROP TABLE mailbox_unpartitioned;
ALTER SEQUENCE mailbox_id_seq OWNED BY mailbox.id;
CREATE INDEX mailbox_by_message ON mailbox (message_id);
