-- The custodian operator's review list, paged by keyset (apps/custodian operatorReview.ts): pending and
-- 'all' pages by arrival, decided pages by decision time, each with the review id to break ties.
CREATE INDEX custodian_reviews_by_arrival ON custodian_reviews (created_at, review_id);
CREATE INDEX custodian_reviews_by_state_arrival ON custodian_reviews (state, created_at, review_id);
CREATE INDEX custodian_reviews_by_decision ON custodian_reviews (decided_at, review_id);
