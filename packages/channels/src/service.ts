/**
 * The channels workflows, for the server's routes (and any other app): channels, media, posts through
 * the upload check, replies, edits, deletes, follows, feeds with advert slots, and what readers see.
 * Errors are DomainErrors with stable codes; the server maps them to HTTP statuses.
 */
import type { CheckItem, Decision, ImageSignals, UploadCheck } from '@doublelock/moderation';
import { canonicaliseUrl } from '@doublelock/moderation';
import {
  DomainError,
  ErrorCode,
  type FeedResponse,
  type MediaResponse,
  type PostResponse,
  type PublicReasonWire,
} from '@doublelock/protocol';
import { ChannelActioner, postSubject } from './actioner.ts';
import { AdStore, type Campaign } from './ads/adStore.ts';
import { DEFAULT_MEDIA_LIMITS, sniffAndHash, type MediaBlobStore, type MediaLimits } from './media.ts';
import { hashtagsOf, linksOf } from './postText.ts';
import { ChannelStore, isVisibleTo, type Channel, type Media, type Page, type Post, type Viewer } from './store.ts';

export interface ChannelQuotas {
  channelsPerAccount: number;
  postsPerDay: number;
  mediaBytesPerDay: number;
  follows: number;
  campaignsPerAccount: number;
}

export const DEFAULT_QUOTAS: ChannelQuotas = { channelsPerAccount: 10, postsPerDay: 500, mediaBytesPerDay: 1024 * 1024 * 1024, follows: 5000, campaignsPerAccount: 50 };

export interface ChannelServiceOptions {
  check: UploadCheck;
  blobs: MediaBlobStore;
  now?: () => number;
  limits?: Partial<MediaLimits>;
  quotas?: Partial<ChannelQuotas>;
}

export interface PostInput {
  text?: string;
  media?: number[];
  links?: string[];
  categories?: string[];
}

export interface PostResult {
  post: PostResponse;
  decision: Decision;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const fail = (code: (typeof ErrorCode)[keyof typeof ErrorCode], message: string, details?: unknown): never => {
  throw new DomainError(code, message, details);
};

export class ChannelService {
  readonly store: ChannelStore;
  readonly actioner: ChannelActioner;
  readonly ads: AdStore;
  readonly limits: MediaLimits;
  readonly quotas: ChannelQuotas;
  private readonly now: () => number;

  constructor(
    private readonly db: ConstructorParameters<typeof ChannelStore>[0],
    private readonly options: ChannelServiceOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.store = new ChannelStore(db);
    this.actioner = new ChannelActioner(this.store, this.now);
    this.ads = new AdStore(db);
    this.limits = { ...DEFAULT_MEDIA_LIMITS, ...options.limits };
    this.quotas = { ...DEFAULT_QUOTAS, ...options.quotas };
  }

  get check(): UploadCheck {
    return this.options.check;
  }

  // ---- channels

  async createChannel(owner: string, input: { handle: string; name: string; description: string }): Promise<Channel> {
    await this.requireActive(owner);
    if ((await this.store.channelCount(owner)) >= this.quotas.channelsPerAccount) fail(ErrorCode.quotaExceeded, `An account may have at most ${this.quotas.channelsPerAccount} channels.`);
    const channel = await this.store.createChannel({ ...input, owner }, this.now());
    if (!channel) return fail(ErrorCode.handleTaken, `The handle "${input.handle}" is taken.`);
    return channel;
  }

  async channel(handle: string): Promise<Channel> {
    const c = await this.store.channel(handle.toLowerCase());
    if (!c || c.status !== 'active') return fail(ErrorCode.notFound, `No channel @${handle}.`);
    return c;
  }

  /** The channel, if this account owns it; 403 otherwise (a post to another's channel). */
  async ownChannel(owner: string, handle: string): Promise<Channel> {
    const c = await this.channel(handle);
    if (c.owner !== owner) fail(ErrorCode.forbidden, `@${c.handle} belongs to another account: you can post and upload only to your own channels.`);
    return c;
  }

  async updateChannel(owner: string, handle: string, change: { name?: string; description?: string; adsEvery?: number }): Promise<Channel> {
    const c = await this.ownChannel(owner, handle);
    await this.store.updateChannel(c.id, change, this.now());
    return (await this.store.channelById(c.id))!;
  }

  async describeChannel(c: Channel) {
    const counts = await this.store.counts(c.id);
    return { handle: c.handle, name: c.name, description: c.description, owner: c.owner, adsEvery: c.adsEvery, createdAt: c.createdAt, url: `/v1/channels/${c.handle}`, ...counts };
  }

  async listChannels(before: number | undefined, limit: number) {
    const rows = await this.store.listChannels(before, limit + 1);
    const page = rows.slice(0, limit);
    return { channels: await Promise.all(page.map((c) => this.describeChannel(c))), next: rows.length > limit ? page[page.length - 1]!.id : null };
  }

  // ---- follows

  async follow(username: string, handle: string, on: boolean) {
    const c = await this.channel(handle);
    if (on) {
      if ((await this.store.followCount(username)) >= this.quotas.follows) fail(ErrorCode.quotaExceeded, `An account may follow at most ${this.quotas.follows} channels.`);
      await this.store.follow(username, c.id, this.now());
    } else await this.store.unfollow(username, c.id);
    return { following: on, followers: (await this.store.counts(c.id)).followers };
  }

  async following(username: string) {
    return { channels: await Promise.all((await this.store.following(username)).map((c) => this.describeChannel(c))) };
  }

  // ---- media

  async uploadMedia(owner: string, handle: string, body: AsyncIterable<Uint8Array>, declaredBytes: number | undefined): Promise<MediaResponse> {
    await this.requireActive(owner);
    const channel = await this.ownChannel(owner, handle);
    const max = Math.max(this.limits.maxImageBytes, this.limits.maxVideoBytes);
    if (declaredBytes !== undefined && declaredBytes > max) fail(ErrorCode.payloadTooLarge, `Media is limited to ${max} bytes.`);
    const used = await this.store.mediaBytesSince(owner, this.now() - DAY_MS);
    if (used + (declaredBytes ?? 0) > this.quotas.mediaBytesPerDay) fail(ErrorCode.quotaExceeded, `Uploads are limited to ${this.quotas.mediaBytesPerDay} bytes a day.`);
    const staged = await this.options.blobs.stage(body, max);
    try {
      if (staged.size === 0) fail(ErrorCode.badRequest, 'The upload is empty.');
      const sniffed = await sniffAndHash(staged, this.limits);
      await staged.commit();
      const media = await this.store.addMedia({
        owner,
        channelId: channel.id,
        kind: sniffed.kind,
        contentType: sniffed.contentType,
        sha256: staged.sha256,
        bytes: staged.size,
        width: sniffed.width,
        height: sniffed.height,
        signals: sniffed.signals as unknown as Record<string, unknown>,
        createdAt: this.now(),
      });
      return mediaView(media);
    } finally {
      await staged.discard();
    }
  }

  /** A media file for a reader: only while it belongs to a post they may see, or to its uploader. */
  async openMedia(id: number, viewer: Viewer): Promise<{ media: Media; path: string }> {
    const media = await this.store.media(id);
    if (!media) return fail(ErrorCode.notFound, 'No such media.');
    if (media.owner !== viewer.username) {
      const posts = await this.store.postsWithMedia(id);
      const channels = await this.store.channelsById([...new Set(posts.map((p) => p.channelId))]);
      if (!posts.some((p) => isVisibleTo(p, channels.get(p.channelId)!, viewer))) fail(ErrorCode.notFound, 'No such media.');
    }
    const path = await this.options.blobs.path(media.sha256);
    if (!path) return fail(ErrorCode.notFound, 'No such media.');
    return { media, path };
  }

  // ---- posts

  async createPost(author: string, handle: string, input: PostInput): Promise<PostResult> {
    const channel = await this.ownChannel(author, handle);
    return this.submit(author, channel, null, input);
  }

  async reply(author: string, parentId: number, input: PostInput): Promise<PostResult> {
    const parent = await this.visiblePost(parentId, { username: author, country: null });
    const channel = (await this.store.channelById(parent.channelId))!;
    return this.submit(author, channel, parent.id, input);
  }

  private async submit(author: string, channel: Channel, replyTo: number | null, input: PostInput): Promise<PostResult> {
    await this.requireActive(author);
    if ((await this.store.postsSince(author, this.now() - DAY_MS)) >= this.quotas.postsPerDay) fail(ErrorCode.quotaExceeded, `Accounts may post at most ${this.quotas.postsPerDay} times a day.`);
    const text = input.text ?? '';
    const mediaIds = [...new Set(input.media ?? [])];
    const media: Media[] = [];
    for (const id of mediaIds) {
      const m = await this.store.media(id);
      if (!m || m.owner !== author) return fail(ErrorCode.badRequest, `Media ${id} is not one of your uploads.`);
      media.push(m);
    }
    if (!text.trim() && !media.length && !(input.links ?? []).length) fail(ErrorCode.badRequest, 'A post needs text, media or a link.');
    const links = allLinks(text, input.links ?? []);
    // checked before anything is written; the post and its decision then commit in one transaction,
    // so the decision adds no commit of its own and no post exists without its decision
    const checkItems = items(text, links, media);
    const evaluation = await this.options.check.evaluate(checkItems);
    const { post, decision } = await this.db.transaction(async (tx) => {
      const post = await this.store.insertPostIn(
        tx,
        { channelId: channel.id, author, replyTo, text, links, categories: input.categories ?? [], hashtags: hashtagsOf(text), media: media.map((m) => m.id) },
        this.now(),
      );
      const decision = await this.options.check.record(tx, { subject: postSubject(post.id), uploader: author, createdAt: post.createdAt, items: checkItems, fresh: true }, evaluation);
      return { post, decision };
    });
    await this.applyVerdict(post.id, decision);
    const view = await this.view((await this.store.post(post.id))!, { username: author, country: null });
    if (decision.verdict === 'block') {
      fail(ErrorCode.contentBlocked, `Your post was not published: ${decision.reasons.map((r) => `${r.description} (${r.source})`).join('; ')}.`, { postId: post.id, decisionId: decision.id, reasons: publicReasons(decision) });
    }
    return { post: view, decision };
  }

  /** The upload check's verdict applied to a new post, through the actioner like every other action. */
  private async applyVerdict(postId: number, decision: Decision): Promise<void> {
    const context = { decisionId: decision.id, actor: 'upload_check' as const, reason: decision.reasons.map((r) => r.label).join(', ') || 'no match' };
    const subject = postSubject(postId);
    switch (decision.verdict) {
      case 'publish':
        await this.actioner.apply(subject, { type: 'publish' }, context);
        break;
      case 'label':
        await this.actioner.apply(subject, { type: 'label', labels: decision.labels }, context);
        await this.actioner.apply(subject, { type: 'publish' }, context);
        break;
      case 'hold':
        await this.actioner.apply(subject, { type: 'hold' }, context);
        break;
      case 'block':
        await this.actioner.apply(subject, { type: 'block' }, context);
        break;
      case 'pending':
        break; // stays pending: the video worker decides
    }
  }

  async editPost(author: string, id: number, change: { text?: string; links?: string[]; categories?: string[] }): Promise<PostResult> {
    await this.requireActive(author);
    const post = await this.store.post(id);
    if (!post || post.visibility === 'deleted') return fail(ErrorCode.notFound, 'No such post.');
    if (post.author !== author) fail(ErrorCode.forbidden, 'Only its author can edit a post.');
    if (post.visibility === 'blocked' || post.visibility === 'removed') fail(ErrorCode.forbidden, 'A post that was blocked or removed cannot be edited; appeal the decision instead.');
    const text = change.text ?? post.text;
    const links = change.links ? allLinks(text, change.links) : allLinks(text, post.links.filter((l) => !linksOf(post.text).includes(l)));
    const media = (await this.store.mediaOfPosts([id])).get(id) ?? [];
    const subject = postSubject(id);
    const oldSignals = await this.options.check.contentSignals.forSubject(subject);
    const decision = await this.options.check.check({ subject, uploader: author, createdAt: post.createdAt, items: items(text, links, media) });
    if (decision.verdict === 'block') {
      // the edit is refused; the post stays as it was, and so do the signals the sweep checks
      await this.options.check.contentSignals.put(subject, oldSignals, this.now());
      return fail(ErrorCode.contentBlocked, `Your edit was not saved: ${decision.reasons.map((r) => `${r.description} (${r.source})`).join('; ')}.`, { postId: id, decisionId: decision.id, reasons: publicReasons(decision) });
    }
    await this.store.editPost(id, { text, links, categories: change.categories ?? post.categories, hashtags: hashtagsOf(text) }, this.now());
    if (decision.verdict !== 'publish') await this.applyVerdict(id, decision);
    return { post: await this.view((await this.store.post(id))!, { username: author, country: null }), decision };
  }

  async deletePost(author: string, id: number): Promise<void> {
    const post = await this.store.post(id);
    if (!post || post.visibility === 'deleted') return fail(ErrorCode.notFound, 'No such post.');
    if (post.author !== author) fail(ErrorCode.forbidden, 'Only its author can delete a post.');
    await this.store.setState(id, { ...post, visibility: 'deleted' }, { action: JSON.stringify({ type: 'delete' }), actor: 'owner', decisionId: null, reason: 'deleted by its author' }, this.now());
    await this.options.check.forget(postSubject(id));
  }

  /** A post as this viewer may see it: the author sees it in any state (with its decision). */
  async getPost(id: number, viewer: Viewer): Promise<PostResponse> {
    const post = await this.store.post(id);
    if (post && post.visibility !== 'deleted' && post.author === viewer.username) return this.view(post, viewer);
    return this.view(await this.visiblePost(id, viewer), viewer);
  }

  private async visiblePost(id: number, viewer: Viewer): Promise<Post> {
    const post = await this.store.post(id);
    const channel = post && (await this.store.channelById(post.channelId));
    if (!post || !channel || !isVisibleTo(post, channel, viewer)) return fail(ErrorCode.notFound, 'No such post.');
    return post;
  }

  async replies(id: number, viewer: Viewer, after: number | undefined, limit: number) {
    await this.visiblePost(id, viewer);
    return this.postPage(await this.store.replies(id, viewer, after, limit), viewer);
  }

  async hashtag(tag: string, viewer: Viewer, before: number | undefined, limit: number) {
    return this.postPage(await this.store.hashtagPosts(tag, viewer, before, limit), viewer);
  }

  async homeFeed(username: string, viewer: Viewer, before: number | undefined, limit: number) {
    return this.postPage(await this.store.homeFeed(username, viewer, before, limit), viewer);
  }

  async myPosts(username: string, before: number | undefined, limit: number) {
    return this.postPage(await this.store.myPosts(username, before, limit), { username, country: null });
  }

  /** A channel's feed page, with an advert after every `adsEvery` posts where a campaign may stand. */
  async channelFeed(handle: string, viewer: Viewer, before: number | undefined, limit: number): Promise<FeedResponse> {
    const channel = await this.channel(handle);
    const page = await this.store.channelPosts(channel.id, viewer, before, limit);
    const views = await this.views(page.items, viewer);
    const items: FeedResponse['items'] = [];
    let campaigns: Campaign[] | undefined;
    for (let i = 0; i < page.items.length; i++) {
      items.push({ type: 'post', post: views[i]! });
      if (channel.adsEvery > 0 && (i + 1) % channel.adsEvery === 0) {
        campaigns ??= await this.ads.active();
        const served = await this.ads.serve(channel.id, page.items[i]!, page.items[i + 1], this.now(), campaigns);
        if (served) items.push({ type: 'ad', ad: { campaignId: served.campaign.id, impressionId: served.impressionId, sponsor: served.campaign.advertiser, text: served.campaign.text, url: served.campaign.url } });
      }
    }
    return { items, next: page.next };
  }

  // ---- adverts

  async createCampaign(advertiser: string, input: { name: string; text: string; url: string; excludedCategories: string[]; maxImpressions: number }) {
    await this.requireActive(advertiser);
    if ((await this.ads.campaignCount(advertiser)) >= this.quotas.campaignsPerAccount) fail(ErrorCode.quotaExceeded, `An advertiser may have at most ${this.quotas.campaignsPerAccount} campaigns.`);
    return campaignView(await this.ads.createCampaign(advertiser, input, this.now()));
  }

  async campaigns(advertiser: string) {
    return { campaigns: (await this.ads.campaigns(advertiser)).map(campaignView) };
  }

  // ---- views

  private async postPage(page: Page<Post>, viewer: Viewer) {
    return { posts: await this.views(page.items, viewer), next: page.next };
  }

  async view(post: Post, viewer: Viewer): Promise<PostResponse> {
    return (await this.views([post], viewer))[0]!;
  }

  async views(posts: readonly Post[], viewer: Viewer): Promise<PostResponse[]> {
    const ids = posts.map((p) => p.id);
    const [channels, media, tags, replies] = await Promise.all([
      this.store.channelsById([...new Set(posts.map((p) => p.channelId))]),
      this.store.mediaOfPosts(ids),
      this.store.hashtagsOf(ids),
      this.store.replyCounts(ids, viewer),
    ]);
    return Promise.all(
      posts.map(async (p) => {
        const c = channels.get(p.channelId)!;
        const own = viewer.username !== null && p.author === viewer.username;
        const view: PostResponse = {
          id: p.id,
          channel: { handle: c.handle, name: c.name },
          author: p.author,
          text: p.text,
          hashtags: tags.get(p.id) ?? [],
          links: p.links,
          media: (media.get(p.id) ?? []).map(mediaView),
          categories: p.categories,
          labels: p.labels,
          replyTo: p.replyTo,
          replies: replies.get(p.id) ?? 0,
          createdAt: p.createdAt,
          editedAt: p.editedAt,
          url: `/v1/posts/${p.id}`,
        };
        if (own) {
          view.visibility = p.visibility;
          view.restrictions = { geoRestricted: p.geoRestricted, ageRestricted: p.ageRestricted, demoted: p.demoted, demonetised: p.demonetised };
          const d = await this.options.check.decisions.latest(postSubject(p.id));
          if (d) view.decision = { id: d.id, verdict: d.verdict, reasons: publicReasons(d), createdAt: d.createdAt };
        }
        return view;
      }),
    );
  }

  private async requireActive(username: string): Promise<void> {
    const status = await this.store.accountStatus(username);
    if (!status) return;
    if (status.status === 'terminated') fail(ErrorCode.forbidden, 'This account was terminated and cannot post.');
    if (status.until === null || status.until > this.now()) fail(ErrorCode.forbidden, `This account is suspended${status.until ? ` until ${new Date(status.until).toISOString()}` : ''}.`);
  }
}

/** The uploader's reasons: label, meaning, source, span — nothing about the list itself. */
export function publicReasons(d: Decision): PublicReasonWire[] {
  return d.reasons.map((r) => ({ item: r.item, label: r.label, description: r.description, source: r.source, action: r.action, ...(r.span && { span: r.span }) }));
}

function allLinks(text: string, extra: readonly string[]): string[] {
  const out = new Set<string>();
  for (const l of [...linksOf(text), ...extra]) {
    try {
      out.add(canonicaliseUrl(l));
    } catch {
      fail(ErrorCode.badRequest, `Not a link we can follow: ${l.slice(0, 200)}`);
    }
  }
  if (out.size > 20) fail(ErrorCode.badRequest, 'A post may carry at most 20 links.');
  return [...out];
}

function items(text: string, links: readonly string[], media: readonly Media[]): CheckItem[] {
  const out: CheckItem[] = [];
  if (text.trim()) out.push({ id: 'text', kind: 'text', text });
  links.forEach((url, i) => out.push({ id: `link:${i}`, kind: 'link', url }));
  for (const m of media) {
    if (m.kind === 'image') out.push({ id: `media:${m.id}`, kind: 'image', signals: m.signals as unknown as ImageSignals });
    else out.push({ id: `media:${m.id}`, kind: 'video', md5: String(m.signals.md5), sha256: String(m.signals.sha256) });
  }
  return out;
}

export function mediaView(m: Media): MediaResponse {
  return { id: m.id, kind: m.kind, contentType: m.contentType, bytes: m.bytes, width: m.width, height: m.height, url: `/v1/media/${m.id}` };
}

function campaignView(c: Campaign) {
  return { id: c.id, name: c.name, text: c.text, url: c.url, excludedCategories: c.excluded, maxImpressions: c.maxImpressions, impressions: c.impressions, status: c.status, createdAt: c.createdAt };
}
