-- Public channels: channels, posts (and replies), media, hashtags, follows, and what was done to posts
-- and accounts. A post's visibility and restrictions change only through the channels actioner.
CREATE TABLE channels (
  id {{serial}},
  handle TEXT NOT NULL UNIQUE,
  owner TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  -- one advert after every n posts of a feed page; 0: no adverts
  ads_every INTEGER NOT NULL,
  -- 'active', or 'hidden' (its owner's account was terminated)
  status TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX channels_by_owner ON channels (owner);

CREATE TABLE channel_posts (
  id {{serial}},
  channel_id BIGINT NOT NULL,
  author TEXT NOT NULL,
  reply_to BIGINT,
  text TEXT NOT NULL,
  -- JSON array of the URLs the post links to
  links TEXT NOT NULL,
  -- space-separated IAB Sensitive Topics ids the author declared
  categories TEXT NOT NULL,
  -- pending, published, held, blocked, removed, deleted
  visibility TEXT NOT NULL,
  -- restrictions: space-separated labels and territories; flags
  labels TEXT NOT NULL,
  geo_restricted TEXT NOT NULL,
  age_restricted INTEGER NOT NULL,
  demoted INTEGER NOT NULL,
  demonetised INTEGER NOT NULL,
  -- a bank or rule match counted toward its decision: never next to an advert
  matched INTEGER NOT NULL,
  decision_id BIGINT,
  created_at BIGINT NOT NULL,
  edited_at BIGINT,
  published_at BIGINT
);
CREATE INDEX channel_posts_feed ON channel_posts (channel_id, visibility, id);
CREATE INDEX channel_posts_by_author ON channel_posts (author, id);
CREATE INDEX channel_posts_replies ON channel_posts (reply_to, id);

CREATE TABLE channel_media (
  id {{serial}},
  owner TEXT NOT NULL,
  channel_id BIGINT NOT NULL,
  -- image or video; the content type sniffed from the bytes
  kind TEXT NOT NULL,
  content_type TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  bytes BIGINT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  -- the hasher's output at upload (JSON): PDQ variants, quality, MD5, SHA-256
  signals TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX channel_media_by_owner ON channel_media (owner, created_at);

CREATE TABLE channel_post_media (
  post_id BIGINT NOT NULL,
  position INTEGER NOT NULL,
  media_id BIGINT NOT NULL,
  PRIMARY KEY (post_id, position)
);
CREATE INDEX channel_post_media_by_media ON channel_post_media (media_id);

CREATE TABLE channel_hashtags (
  tag TEXT NOT NULL,
  post_id BIGINT NOT NULL,
  PRIMARY KEY (tag, post_id)
);
CREATE INDEX channel_hashtags_by_post ON channel_hashtags (post_id);

CREATE TABLE channel_follows (
  username TEXT NOT NULL,
  channel_id BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (username, channel_id)
);
CREATE INDEX channel_follows_by_channel ON channel_follows (channel_id);

-- Every action applied to a post: by whom (upload check, sweep, moderator…), under which decision, why.
CREATE TABLE channel_post_actions (
  id {{serial}},
  post_id BIGINT NOT NULL,
  action TEXT NOT NULL,
  actor TEXT NOT NULL,
  decision_id BIGINT,
  reason TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX channel_post_actions_by_post ON channel_post_actions (post_id, id);

-- Accounts restricted on the public surface: suspended (no posting, until a time or indefinitely) or
-- terminated (no posting, channels hidden).
CREATE TABLE channel_accounts (
  username TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  until_at BIGINT,
  decision_id BIGINT,
  reason TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);
