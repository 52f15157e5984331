/**
 * Adverts: campaigns, eligibility of a slot, impressions, notices and the brand-safety report, on the
 * store (migration 0440_ads.sql). A slot between two posts is filled only by a campaign whose excluded
 * topics neither post falls under, and only when neither post is demonetised or was matched by a bank
 * or rule; every campaign excludes Terrorism. Only published posts reach a feed at all.
 */
import type { BrandSafetyReport } from '@doublelock/protocol';
import type { Db } from '@doublelock/store';
import type { Post } from '../store.ts';
import { TERRORISM, topicsOf } from './sensitiveTopics.ts';

export interface Campaign {
  id: number;
  advertiser: string;
  name: string;
  text: string;
  url: string;
  excluded: string[];
  maxImpressions: number;
  impressions: number;
  status: 'active' | 'ended';
  createdAt: number;
}

export interface AdNotice {
  id: number;
  campaignId: number;
  impressionId: number;
  postId: number;
  action: string;
  reason: string;
  servedAt: number;
  createdAt: number;
}

type Row = Record<string, unknown>;
const list = (s: unknown) => (typeof s === 'string' && s.trim() ? s.trim().split(/\s+/) : []);

const campaignFromRow = (r: Row): Campaign => ({
  id: Number(r.id),
  advertiser: String(r.advertiser),
  name: String(r.name),
  text: String(r.text),
  url: String(r.url),
  excluded: list(r.excluded),
  maxImpressions: Number(r.max_impressions),
  impressions: Number(r.impressions),
  status: Number(r.impressions) >= Number(r.max_impressions) ? 'ended' : (r.status as Campaign['status']),
  createdAt: Number(r.created_at),
});

/** May this campaign appear next to this post? */
export function eligible(post: Post, campaign: Campaign): boolean {
  if (post.visibility !== 'published' || post.demonetised || post.matched) return false;
  const topics = topicsOf(post.categories, post.labels);
  return !campaign.excluded.some((t) => topics.has(t)) && !topics.has(TERRORISM);
}

export class AdStore {
  constructor(private readonly db: Db) {}

  async createCampaign(advertiser: string, c: { name: string; text: string; url: string; excludedCategories: string[]; maxImpressions: number }, now: number): Promise<Campaign> {
    const excluded = [...new Set([...c.excludedCategories, TERRORISM])].sort();
    const row = await this.db.get<Row>(
      "INSERT INTO ad_campaigns (advertiser, name, text, url, excluded, max_impressions, impressions, status, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, 'active', ?) RETURNING *",
      [advertiser, c.name, c.text, c.url, excluded.join(' '), c.maxImpressions, now],
    );
    return campaignFromRow(row!);
  }

  async campaigns(advertiser: string): Promise<Campaign[]> {
    return (await this.db.all<Row>('SELECT * FROM ad_campaigns WHERE advertiser = ? ORDER BY id', [advertiser])).map(campaignFromRow);
  }

  async campaignCount(advertiser: string): Promise<number> {
    return Number((await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM ad_campaigns WHERE advertiser = ?', [advertiser]))?.n ?? 0);
  }

  /** Active campaigns, least shown first (a fair rotation). */
  async active(limit = 50): Promise<Campaign[]> {
    return (await this.db.all<Row>("SELECT * FROM ad_campaigns WHERE status = 'active' AND impressions < max_impressions ORDER BY impressions, id LIMIT ?", [limit])).map(campaignFromRow);
  }

  /** Fills the slot after `before` (and before `after`, if any) with the first eligible campaign, recording the impression. */
  async serve(channelId: number, before: Post, after: Post | undefined, now: number, candidates: Campaign[]): Promise<{ campaign: Campaign; impressionId: number } | undefined> {
    const campaign = candidates.find((c) => c.impressions < c.maxImpressions && eligible(before, c) && (!after || eligible(after, c)));
    if (!campaign) return undefined;
    const topics = [...topicsOf(before.categories, before.labels), ...(after ? topicsOf(after.categories, after.labels) : [])];
    const id = await this.db.transaction(async (tx) => {
      const claimed = await tx.run('UPDATE ad_campaigns SET impressions = impressions + 1 WHERE id = ? AND impressions < max_impressions', [campaign.id]);
      if (!claimed.changes) return undefined;
      const row = await tx.get<{ id: number }>('INSERT INTO ad_impressions (campaign_id, channel_id, before_post, after_post, topics, served_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id', [
        campaign.id,
        channelId,
        before.id,
        after?.id ?? null,
        [...new Set(topics)].join(' '),
        now,
      ]);
      return Number(row!.id);
    });
    if (id === undefined) return undefined;
    campaign.impressions++;
    return { campaign, impressionId: id };
  }

  /** A post left public view (or was restricted): every impression served next to it becomes a notice to its advertiser. */
  async noticeFor(postId: number, action: string, reason: string, decisionId: number | null, now: number): Promise<number> {
    const rows = await this.db.all<{ id: number; campaign_id: number; advertiser: string }>(
      'SELECT i.id AS id, i.campaign_id AS campaign_id, c.advertiser AS advertiser FROM ad_impressions i JOIN ad_campaigns c ON c.id = i.campaign_id WHERE i.before_post = ? OR i.after_post = ?',
      [postId, postId],
    );
    for (const r of rows) {
      await this.db.run(
        'INSERT INTO ad_notices (impression_id, campaign_id, advertiser, post_id, action, reason, decision_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
        [r.id, r.campaign_id, r.advertiser, postId, action, reason, decisionId, now],
      );
    }
    return rows.length;
  }

  async notices(advertiser: string, limit = 500): Promise<AdNotice[]> {
    const rows = await this.db.all<Row>(
      'SELECT n.*, i.served_at AS served_at FROM ad_notices n JOIN ad_impressions i ON i.id = n.impression_id WHERE n.advertiser = ? ORDER BY n.id DESC LIMIT ?',
      [advertiser, limit],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      campaignId: Number(r.campaign_id),
      impressionId: Number(r.impression_id),
      postId: Number(r.post_id),
      action: String(r.action),
      reason: String(r.reason),
      servedAt: Number(r.served_at),
      createdAt: Number(r.created_at),
    }));
  }

  /** The brand-safety report of one advertiser, computed from impressions and notices. */
  async report(advertiser: string, now: number): Promise<BrandSafetyReport> {
    const campaigns = await this.campaigns(advertiser);
    const out: BrandSafetyReport = { advertiser, generatedAt: now, campaigns: [], impressions: 0, flaggedImpressions: 0, flaggedByAction: {}, exclusionViolations: 0 };
    for (const c of campaigns) {
      const byChannel = await this.db.all<{ handle: string; n: number }>(
        'SELECT ch.handle AS handle, COUNT(*) AS n FROM ad_impressions i JOIN channels ch ON ch.id = i.channel_id WHERE i.campaign_id = ? GROUP BY ch.handle ORDER BY n DESC, ch.handle',
        [c.id],
      );
      const flagged = Number((await this.db.get<{ n: number }>('SELECT COUNT(DISTINCT impression_id) AS n FROM ad_notices WHERE campaign_id = ?', [c.id]))?.n ?? 0);
      for (const a of await this.db.all<{ action: string; n: number }>('SELECT action, COUNT(DISTINCT impression_id) AS n FROM ad_notices WHERE campaign_id = ? GROUP BY action', [c.id])) {
        out.flaggedByAction[a.action] = (out.flaggedByAction[a.action] ?? 0) + Number(a.n);
      }
      for (const i of await this.db.all<{ topics: string }>("SELECT topics FROM ad_impressions WHERE campaign_id = ? AND topics <> ''", [c.id])) {
        if (list(i.topics).some((t) => c.excluded.includes(t))) out.exclusionViolations++;
      }
      out.campaigns.push({ id: c.id, name: c.name, excludedCategories: c.excluded, impressions: c.impressions, flaggedImpressions: flagged, byChannel: byChannel.map((b) => ({ handle: b.handle, impressions: Number(b.n) })) });
      out.impressions += c.impressions;
      out.flaggedImpressions += flagged;
    }
    return out;
  }
}
