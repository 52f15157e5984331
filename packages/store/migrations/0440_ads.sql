-- Adverts: advertisers' campaigns (with the IAB Sensitive Topics they exclude), every impression with
-- the posts it was shown between, and notices to advertisers when such a post is removed later.
CREATE TABLE ad_campaigns (
  id {{serial}},
  advertiser TEXT NOT NULL,
  name TEXT NOT NULL,
  text TEXT NOT NULL,
  url TEXT NOT NULL,
  -- space-separated IAB Content Taxonomy 3.1 Sensitive Topics ids; always includes Terrorism (8FD8nI)
  excluded TEXT NOT NULL,
  max_impressions BIGINT NOT NULL,
  impressions BIGINT NOT NULL,
  status TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX ad_campaigns_by_advertiser ON ad_campaigns (advertiser, id);

CREATE TABLE ad_impressions (
  id {{serial}},
  campaign_id BIGINT NOT NULL,
  channel_id BIGINT NOT NULL,
  before_post BIGINT NOT NULL,
  after_post BIGINT,
  -- the neighbouring posts' sensitive topics when it was served (the report checks none was excluded)
  topics TEXT NOT NULL,
  served_at BIGINT NOT NULL
);
CREATE INDEX ad_impressions_by_campaign ON ad_impressions (campaign_id, id);
CREATE INDEX ad_impressions_by_before ON ad_impressions (before_post);
CREATE INDEX ad_impressions_by_after ON ad_impressions (after_post);

CREATE TABLE ad_notices (
  id {{serial}},
  impression_id BIGINT NOT NULL,
  campaign_id BIGINT NOT NULL,
  advertiser TEXT NOT NULL,
  post_id BIGINT NOT NULL,
  -- what happened to the post: removed, held, labelled, blocked, demonetised …
  action TEXT NOT NULL,
  reason TEXT NOT NULL,
  decision_id BIGINT,
  created_at BIGINT NOT NULL,
  UNIQUE (impression_id, post_id, action)
);
CREATE INDEX ad_notices_by_advertiser ON ad_notices (advertiser, id);
