-- A report is unique per (reporter, message): per account, not per device (issue 10), and members
-- removed from a group keep the right to report what they received while they were in it.
ALTER TABLE abuse_reports ADD COLUMN reporter_username TEXT NOT NULL DEFAULT '';
UPDATE abuse_reports SET reporter_username = COALESCE((SELECT username FROM devices WHERE devices.device_id = abuse_reports.reporter_device), '');
DROP INDEX abuse_reports_once;
CREATE UNIQUE INDEX abuse_reports_once ON abuse_reports (reporter_username, group_id, seq);

-- Devices removed from a group, with the seq of the commit that removed them: they received (and may
-- report) the group's messages ordered before it.
CREATE TABLE group_former_members (
  group_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  removed_at_seq BIGINT NOT NULL,
  PRIMARY KEY (group_id, device_id, removed_at_seq)
);
