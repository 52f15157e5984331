-- Transparency reports (packages/cases/src/reports/compute.ts) read a period's decisions, cases and
-- notices in one grouped pass each. These indexes hold every column those passes read, so a report over
-- a million decisions reads the indexes alone, not the rows with their texts (bench:cases). Each begins
-- with the time column of the single-column index it replaces, so a short period reads a short range.
CREATE INDEX case_decisions_report ON case_decisions (decided_at, source, category, ground, restriction_mask, automated_detection, automated_decision);
DROP INDEX case_decisions_time;
CREATE INDEX cases_report ON cases (received_at, source, legal_basis, decided_at);
DROP INDEX cases_received;
CREATE INDEX case_notices_report ON case_notices (received_at, kind, category, case_id);
DROP INDEX case_notices_received;
