-- A report over a long period (a year of a million decisions) groups every decision by what the figures
-- look at (packages/cases/src/reports/compute.ts decisionFigures). Sorting a million rows for that GROUP BY
-- cost ~10x more than walking an index already in group order, with the time last so the period is
-- filtered from the index alone. Short periods keep using case_decisions_report (time first).
CREATE INDEX case_decisions_groups ON case_decisions (source, category, ground, restriction_mask, automated_detection, automated_decision, decided_at);
