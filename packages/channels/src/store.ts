/**
 * Channels, posts, media, hashtags and follows in the store, over the `Db` seam (SQLite and PostgreSQL
 * alike; migration 0400_channels.sql). Reads for the public filter visibility in SQL, so a page is
 * always `limit` visible posts and its cursor is the last one's id.
 */
import type { ContentState, Visibility } from '@doublelock/moderation';
import type { Db, SqlRunner, SqlValue } from '@doublelock/store';

export interface Channel {
  id: number;
  handle: string;
  owner: string;
  name: string;
  description: string;
  adsEvery: number;
  status: 'active' | 'hidden';
  createdAt: number;
  updatedAt: number;
}

export interface Post {
  id: number;
  channelId: number;
  author: string;
  replyTo: number | null;
  text: string;
  links: string[];
  categories: string[];
  visibility: Visibility;
  labels: string[];
  geoRestricted: string[];
  ageRestricted: boolean;
  demoted: boolean;
  demonetised: boolean;
  matched: boolean;
  decisionId: number | null;
  createdAt: number;
  editedAt: number | null;
  publishedAt: number | null;
}

export interface Media {
  id: number;
  owner: string;
  channelId: number;
  kind: 'image' | 'video';
  contentType: string;
  sha256: string;
  bytes: number;
  width: number;
  height: number;
  /** the hasher's output at upload: ImageSignals for images, { md5, sha256 } for videos */
  signals: Record<string, unknown>;
  createdAt: number;
}

/** Who is reading: anonymous or signed in, and (from a trusted proxy) in which country. */
export interface Viewer {
  username: string | null;
  country: string | null;
}

export interface Page<T> {
  items: T[];
  next: number | null;
}

type Row = Record<string, unknown>;

const list = (s: unknown) => (typeof s === 'string' && s.trim() ? s.trim().split(/\s+/) : []);
const padded = (xs: readonly string[]) => (xs.length ? ` ${xs.join(' ')} ` : '');

export function channelFromRow(r: Row): Channel {
  return {
    id: Number(r.id),
    handle: String(r.handle),
    owner: String(r.owner),
    name: String(r.name),
    description: String(r.description),
    adsEvery: Number(r.ads_every),
    status: r.status as Channel['status'],
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

export function postFromRow(r: Row): Post {
  return {
    id: Number(r.id),
    channelId: Number(r.channel_id),
    author: String(r.author),
    replyTo: r.reply_to == null ? null : Number(r.reply_to),
    text: String(r.text),
    links: JSON.parse(String(r.links)) as string[],
    categories: list(r.categories),
    visibility: r.visibility as Visibility,
    labels: list(r.labels),
    geoRestricted: list(r.geo_restricted),
    ageRestricted: Number(r.age_restricted) === 1,
    demoted: Number(r.demoted) === 1,
    demonetised: Number(r.demonetised) === 1,
    matched: Number(r.matched) === 1,
    decisionId: r.decision_id == null ? null : Number(r.decision_id),
    createdAt: Number(r.created_at),
    editedAt: r.edited_at == null ? null : Number(r.edited_at),
    publishedAt: r.published_at == null ? null : Number(r.published_at),
  };
}

function mediaFromRow(r: Row): Media {
  return {
    id: Number(r.id),
    owner: String(r.owner),
    channelId: Number(r.channel_id),
    kind: r.kind as Media['kind'],
    contentType: String(r.content_type),
    sha256: String(r.sha256),
    bytes: Number(r.bytes),
    width: Number(r.width),
    height: Number(r.height),
    signals: JSON.parse(String(r.signals)) as Record<string, unknown>,
    createdAt: Number(r.created_at),
  };
}

export function stateOf(p: Post): ContentState {
  return { visibility: p.visibility, labels: p.labels, geoRestricted: p.geoRestricted, ageRestricted: p.ageRestricted, demoted: p.demoted, demonetised: p.demonetised };
}

/** SQL condition (on alias p, channel alias c) for "this viewer may see it", with its parameters. */
export function visibleTo(viewer: Viewer): { sql: string; params: SqlValue[] } {
  let sql = "p.visibility = 'published' AND c.status = 'active'";
  const params: SqlValue[] = [];
  if (!viewer.username) sql += ' AND p.age_restricted = 0';
  if (viewer.country) {
    sql += ' AND p.geo_restricted NOT LIKE ?';
    params.push(`% ${viewer.country} %`);
  }
  return { sql, params };
}

export function isVisibleTo(p: Post, c: Channel, viewer: Viewer): boolean {
  if (p.visibility !== 'published' || c.status !== 'active') return false;
  if (p.ageRestricted && !viewer.username) return false;
  return !(viewer.country && p.geoRestricted.includes(viewer.country));
}

const MAX_CURSOR = Number.MAX_SAFE_INTEGER;

export class ChannelStore {
  constructor(readonly db: Db) {}

  // ---- channels

  async createChannel(c: { handle: string; owner: string; name: string; description: string }, now: number): Promise<Channel | undefined> {
    const row = await this.db.get<Row>(
      "INSERT INTO channels (handle, owner, name, description, ads_every, status, created_at, updated_at) VALUES (?, ?, ?, ?, 0, 'active', ?, ?) ON CONFLICT (handle) DO NOTHING RETURNING *",
      [c.handle, c.owner, c.name, c.description, now, now],
    );
    return row && channelFromRow(row);
  }

  async channel(handle: string): Promise<Channel | undefined> {
    const row = await this.db.get<Row>('SELECT * FROM channels WHERE handle = ?', [handle]);
    return row && channelFromRow(row);
  }

  async channelById(id: number): Promise<Channel | undefined> {
    const row = await this.db.get<Row>('SELECT * FROM channels WHERE id = ?', [id]);
    return row && channelFromRow(row);
  }

  async channelsById(ids: readonly number[]): Promise<Map<number, Channel>> {
    if (!ids.length) return new Map();
    const rows = await this.db.all<Row>(`SELECT * FROM channels WHERE id IN (${ids.map(() => '?').join(', ')})`, [...ids]);
    return new Map(rows.map((r) => [Number(r.id), channelFromRow(r)]));
  }

  async updateChannel(id: number, change: { name?: string; description?: string; adsEvery?: number }, now: number): Promise<void> {
    const c = await this.channelById(id);
    if (!c) return;
    await this.db.run('UPDATE channels SET name = ?, description = ?, ads_every = ?, updated_at = ? WHERE id = ?', [
      change.name ?? c.name,
      change.description ?? c.description,
      change.adsEvery ?? c.adsEvery,
      now,
      id,
    ]);
  }

  async listChannels(before: number | undefined, limit: number): Promise<Channel[]> {
    return (await this.db.all<Row>("SELECT * FROM channels WHERE status = 'active' AND id < ? ORDER BY id DESC LIMIT ?", [before ?? MAX_CURSOR, limit])).map(channelFromRow);
  }

  async channelCount(owner: string): Promise<number> {
    return Number((await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM channels WHERE owner = ?', [owner]))?.n ?? 0);
  }

  async setChannelsStatus(owner: string, status: Channel['status'], now: number): Promise<void> {
    await this.db.run('UPDATE channels SET status = ?, updated_at = ? WHERE owner = ?', [status, now, owner]);
  }

  async counts(channelId: number): Promise<{ followers: number; posts: number }> {
    const f = await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM channel_follows WHERE channel_id = ?', [channelId]);
    const p = await this.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM channel_posts WHERE channel_id = ? AND reply_to IS NULL AND visibility = 'published'", [channelId]);
    return { followers: Number(f?.n ?? 0), posts: Number(p?.n ?? 0) };
  }

  // ---- follows

  async follow(username: string, channelId: number, now: number): Promise<void> {
    await this.db.run('INSERT INTO channel_follows (username, channel_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [username, channelId, now]);
  }

  async unfollow(username: string, channelId: number): Promise<void> {
    await this.db.run('DELETE FROM channel_follows WHERE username = ? AND channel_id = ?', [username, channelId]);
  }

  async followCount(username: string): Promise<number> {
    return Number((await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM channel_follows WHERE username = ?', [username]))?.n ?? 0);
  }

  async following(username: string): Promise<Channel[]> {
    return (
      await this.db.all<Row>("SELECT c.* FROM channel_follows f JOIN channels c ON c.id = f.channel_id WHERE f.username = ? AND c.status = 'active' ORDER BY f.created_at DESC", [username])
    ).map(channelFromRow);
  }

  // ---- media

  async addMedia(m: Omit<Media, 'id'>): Promise<Media> {
    const row = await this.db.get<{ id: number }>(
      'INSERT INTO channel_media (owner, channel_id, kind, content_type, sha256, bytes, width, height, signals, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id',
      [m.owner, m.channelId, m.kind, m.contentType, m.sha256, m.bytes, m.width, m.height, JSON.stringify(m.signals), m.createdAt],
    );
    return { ...m, id: Number(row!.id) };
  }

  async media(id: number): Promise<Media | undefined> {
    const row = await this.db.get<Row>('SELECT * FROM channel_media WHERE id = ?', [id]);
    return row && mediaFromRow(row);
  }

  async mediaOfPosts(postIds: readonly number[]): Promise<Map<number, Media[]>> {
    const out = new Map<number, Media[]>();
    if (!postIds.length) return out;
    const rows = await this.db.all<Row>(
      `SELECT pm.post_id AS post_id, m.* FROM channel_post_media pm JOIN channel_media m ON m.id = pm.media_id WHERE pm.post_id IN (${postIds.map(() => '?').join(', ')}) ORDER BY pm.post_id, pm.position`,
      [...postIds],
    );
    for (const r of rows) {
      const id = Number(r.post_id);
      out.set(id, [...(out.get(id) ?? []), mediaFromRow(r)]);
    }
    return out;
  }

  /** Bytes of media this account uploaded since a time (the daily quota). */
  async mediaBytesSince(owner: string, since: number): Promise<number> {
    return Number((await this.db.get<{ n: number | null }>('SELECT SUM(bytes) AS n FROM channel_media WHERE owner = ? AND created_at >= ?', [owner, since]))?.n ?? 0);
  }

  /** Posts this media belongs to. */
  async postsWithMedia(mediaId: number): Promise<Post[]> {
    return (await this.db.all<Row>('SELECT p.* FROM channel_post_media pm JOIN channel_posts p ON p.id = pm.post_id WHERE pm.media_id = ?', [mediaId])).map(postFromRow);
  }

  // ---- posts

  async insertPost(
    p: { channelId: number; author: string; replyTo: number | null; text: string; links: string[]; categories: string[]; hashtags: string[]; media: number[] },
    now: number,
  ): Promise<Post> {
    return this.db.transaction((tx) => this.insertPostIn(tx, p, now));
  }

  /** insertPost inside the caller's transaction (a new post commits with its upload check decision). */
  async insertPostIn(
    tx: SqlRunner,
    p: { channelId: number; author: string; replyTo: number | null; text: string; links: string[]; categories: string[]; hashtags: string[]; media: number[] },
    now: number,
  ): Promise<Post> {
    {
      const row = await tx.get<Row>(
        `INSERT INTO channel_posts (channel_id, author, reply_to, text, links, categories, visibility, labels, geo_restricted, age_restricted, demoted, demonetised, matched, created_at)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', '', '', 0, 0, 0, 0, ?) RETURNING *`,
        [p.channelId, p.author, p.replyTo, p.text, JSON.stringify(p.links), p.categories.join(' '), now],
      );
      const post = postFromRow(row!);
      await this.writeTags(tx, post.id, p.hashtags);
      for (const [i, m] of p.media.entries()) await tx.run('INSERT INTO channel_post_media (post_id, position, media_id) VALUES (?, ?, ?)', [post.id, i, m]);
      return post;
    }
  }

  private async writeTags(tx: SqlRunner, postId: number, tags: readonly string[]): Promise<void> {
    await tx.run('DELETE FROM channel_hashtags WHERE post_id = ?', [postId]);
    for (const t of tags) await tx.run('INSERT INTO channel_hashtags (tag, post_id) VALUES (?, ?) ON CONFLICT DO NOTHING', [t, postId]);
  }

  async editPost(id: number, change: { text: string; links: string[]; categories: string[]; hashtags: string[] }, now: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.run('UPDATE channel_posts SET text = ?, links = ?, categories = ?, edited_at = ? WHERE id = ?', [change.text, JSON.stringify(change.links), change.categories.join(' '), now, id]);
      await this.writeTags(tx, id, change.hashtags);
    });
  }

  async post(id: number): Promise<Post | undefined> {
    const row = await this.db.get<Row>('SELECT * FROM channel_posts WHERE id = ?', [id]);
    return row && postFromRow(row);
  }

  async hashtagsOf(postIds: readonly number[]): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>();
    if (!postIds.length) return out;
    const rows = await this.db.all<{ post_id: number; tag: string }>(`SELECT post_id, tag FROM channel_hashtags WHERE post_id IN (${postIds.map(() => '?').join(', ')})`, [...postIds]);
    for (const r of rows) out.set(Number(r.post_id), [...(out.get(Number(r.post_id)) ?? []), r.tag]);
    return out;
  }

  /** Replies to each post that this viewer can see. */
  async replyCounts(postIds: readonly number[], viewer: Viewer): Promise<Map<number, number>> {
    if (!postIds.length) return new Map();
    const v = visibleTo(viewer);
    const rows = await this.db.all<{ reply_to: number; n: number }>(
      `SELECT p.reply_to AS reply_to, COUNT(*) AS n FROM channel_posts p JOIN channels c ON c.id = p.channel_id WHERE p.reply_to IN (${postIds.map(() => '?').join(', ')}) AND ${v.sql} GROUP BY p.reply_to`,
      [...postIds, ...v.params],
    );
    return new Map(rows.map((r) => [Number(r.reply_to), Number(r.n)]));
  }

  /** Writes a post's new state (the actioner's only way in) and the action that led to it. */
  async setState(id: number, state: ContentState & { matched?: boolean; decisionId?: number | null; publishedAt?: number | null }, action: { action: string; actor: string; decisionId: number | null; reason: string }, now: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.run(
        `UPDATE channel_posts SET visibility = ?, labels = ?, geo_restricted = ?, age_restricted = ?, demoted = ?, demonetised = ?,
           matched = COALESCE(?, matched), decision_id = COALESCE(?, decision_id), published_at = COALESCE(published_at, ?) WHERE id = ?`,
        [
          state.visibility,
          state.labels.join(' '),
          padded(state.geoRestricted),
          state.ageRestricted ? 1 : 0,
          state.demoted ? 1 : 0,
          state.demonetised ? 1 : 0,
          state.matched === undefined ? null : state.matched ? 1 : 0,
          state.decisionId ?? null,
          state.publishedAt ?? null,
          id,
        ],
      );
      await tx.run('INSERT INTO channel_post_actions (post_id, action, actor, decision_id, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)', [id, action.action, action.actor, action.decisionId, action.reason, now]);
    });
  }

  async actions(postId: number): Promise<Array<{ action: string; actor: string; decisionId: number | null; reason: string; createdAt: number }>> {
    const rows = await this.db.all<Row>('SELECT * FROM channel_post_actions WHERE post_id = ? ORDER BY id', [postId]);
    return rows.map((r) => ({ action: String(r.action), actor: String(r.actor), decisionId: r.decision_id == null ? null : Number(r.decision_id), reason: String(r.reason), createdAt: Number(r.created_at) }));
  }

  private async page(sql: string, params: SqlValue[], limit: number): Promise<Page<Post>> {
    const rows = await this.db.all<Row>(sql, [...params, limit + 1]);
    const items = rows.slice(0, limit).map(postFromRow);
    return { items, next: rows.length > limit ? items[items.length - 1]!.id : null };
  }

  /** A channel's top-level posts this viewer may see, newest first. */
  channelPosts(channelId: number, viewer: Viewer, before: number | undefined, limit: number): Promise<Page<Post>> {
    const v = visibleTo(viewer);
    return this.page(
      `SELECT p.* FROM channel_posts p JOIN channels c ON c.id = p.channel_id WHERE p.channel_id = ? AND p.reply_to IS NULL AND ${v.sql} AND p.id < ? ORDER BY p.id DESC LIMIT ?`,
      [channelId, ...v.params, before ?? MAX_CURSOR],
      limit,
    );
  }

  /** Posts (and replies) with a hashtag, newest first; demoted posts are left out. */
  hashtagPosts(tag: string, viewer: Viewer, before: number | undefined, limit: number): Promise<Page<Post>> {
    const v = visibleTo(viewer);
    return this.page(
      `SELECT p.* FROM channel_hashtags h JOIN channel_posts p ON p.id = h.post_id JOIN channels c ON c.id = p.channel_id
       WHERE h.tag = ? AND ${v.sql} AND p.demoted = 0 AND h.post_id < ? ORDER BY h.post_id DESC LIMIT ?`,
      [tag, ...v.params, before ?? MAX_CURSOR],
      limit,
    );
  }

  /** Top-level posts of the channels an account follows, newest first. */
  homeFeed(username: string, viewer: Viewer, before: number | undefined, limit: number): Promise<Page<Post>> {
    const v = visibleTo(viewer);
    return this.page(
      `SELECT p.* FROM channel_follows f JOIN channel_posts p ON p.channel_id = f.channel_id JOIN channels c ON c.id = p.channel_id
       WHERE f.username = ? AND p.reply_to IS NULL AND ${v.sql} AND p.id < ? ORDER BY p.id DESC LIMIT ?`,
      [username, ...v.params, before ?? MAX_CURSOR],
      limit,
    );
  }

  /** Replies to a post, oldest first (`before` reads as "after" here: the cursor moves forward). */
  async replies(postId: number, viewer: Viewer, after: number | undefined, limit: number): Promise<Page<Post>> {
    const v = visibleTo(viewer);
    return this.page(
      `SELECT p.* FROM channel_posts p JOIN channels c ON c.id = p.channel_id WHERE p.reply_to = ? AND ${v.sql} AND p.id > ? ORDER BY p.id LIMIT ?`,
      [postId, ...v.params, after ?? 0],
      limit,
    );
  }

  /** An account's own posts in every state but deleted, newest first. */
  myPosts(username: string, before: number | undefined, limit: number): Promise<Page<Post>> {
    return this.page("SELECT * FROM channel_posts WHERE author = ? AND visibility <> 'deleted' AND id < ? ORDER BY id DESC LIMIT ?", [username, before ?? MAX_CURSOR], limit);
  }

  async postsSince(author: string, since: number): Promise<number> {
    return Number((await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM channel_posts WHERE author = ? AND created_at >= ?', [author, since]))?.n ?? 0);
  }

  // ---- accounts

  async accountStatus(username: string): Promise<{ status: 'suspended' | 'terminated'; until: number | null } | undefined> {
    const row = await this.db.get<Row>('SELECT status, until_at FROM channel_accounts WHERE username = ?', [username]);
    return row && { status: row.status as 'suspended' | 'terminated', until: row.until_at == null ? null : Number(row.until_at) };
  }

  async setAccountStatus(username: string, status: 'suspended' | 'terminated' | null, until: number | null, decisionId: number | null, reason: string, now: number): Promise<void> {
    if (status === null) await this.db.run('DELETE FROM channel_accounts WHERE username = ?', [username]);
    else
      await this.db.run(
        `INSERT INTO channel_accounts (username, status, until_at, decision_id, reason, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (username) DO UPDATE SET status = excluded.status, until_at = excluded.until_at, decision_id = excluded.decision_id, reason = excluded.reason, updated_at = excluded.updated_at`,
        [username, status, until, decisionId, reason, now],
      );
  }
}
