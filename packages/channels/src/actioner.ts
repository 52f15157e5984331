/**
 * The only way a post's visibility and restrictions change (bar its owner's delete): moderation's
 * ContentActioner and AccountActioner, implemented for subjects `post:<id>` and channel accounts. The
 * upload check, the video worker, the retro-sweep and case handling all act through it; each action is
 * recorded with its decision, and a post that leaves public view after adverts were shown next to it
 * produces a notice to each of those advertisers.
 */
import type {
  AccountAction,
  AccountActioner,
  ActionContext,
  ActionOutcome,
  ContentAction,
  ContentActioner,
  ContentState,
  Subject,
  SubjectInfo,
} from '@doublelock/moderation';
import { AdStore } from './ads/adStore.ts';
import { stateOf, type ChannelStore, type Post } from './store.ts';

export const postSubject = (id: number): Subject => `post:${id}`;

export function postIdOf(subject: Subject): number | undefined {
  const m = /^post:(\d{1,15})$/.exec(subject);
  return m ? Number(m[1]) : undefined;
}

/** The state after an action (pure): what each action means for a post. */
export function nextState(post: Post, action: ContentAction): ContentState {
  const s = stateOf(post);
  switch (action.type) {
    case 'publish':
      return { ...s, visibility: post.visibility === 'pending' || post.visibility === 'held' ? 'published' : s.visibility };
    case 'block':
      return { ...s, visibility: post.visibility === 'published' ? 'removed' : 'blocked' };
    case 'hold':
      return { ...s, visibility: 'held' };
    case 'remove':
      return { ...s, visibility: 'removed' };
    case 'label':
      return { ...s, labels: [...new Set([...s.labels, ...action.labels])].sort() };
    case 'geo_restrict':
      return { ...s, geoRestricted: [...new Set(action.territories.map((t) => t.toUpperCase()))].sort() };
    case 'age_restrict':
      return { ...s, ageRestricted: true };
    case 'demote':
      return { ...s, demoted: true };
    case 'demonetise':
      return { ...s, demonetised: true };
    case 'reinstate':
      return { visibility: 'published', labels: [], geoRestricted: [], ageRestricted: false, demoted: false, demonetised: false };
  }
}

/** Did the post leave (or get restricted in) public view, so that ads shown beside it must be reported? */
function restricted(before: ContentState, after: ContentState): string | undefined {
  if (before.visibility === 'published' && after.visibility !== 'published') return after.visibility === 'held' ? 'held' : 'removed';
  if (after.labels.length > before.labels.length) return 'labelled';
  if (after.demonetised && !before.demonetised) return 'demonetised';
  if (after.geoRestricted.length > before.geoRestricted.length) return 'geo_restricted';
  if (after.ageRestricted && !before.ageRestricted) return 'age_restricted';
  return undefined;
}

const TERRITORY = /^[A-Z]{2}$/;

export class ChannelActioner implements ContentActioner, AccountActioner {
  private readonly ads: AdStore;

  constructor(
    private readonly store: ChannelStore,
    private readonly now: () => number,
  ) {
    this.ads = new AdStore(store.db);
  }

  async apply(subject: Subject, action: ContentAction, context: ActionContext): Promise<ActionOutcome> {
    const id = postIdOf(subject);
    const post = id === undefined ? undefined : await this.store.post(id);
    if (!post || post.visibility === 'deleted') return { applied: false };
    if (action.type === 'geo_restrict' && !action.territories.every((t) => TERRITORY.test(t.toUpperCase()))) throw new TypeError('territories are ISO 3166-1 alpha-2 codes, e.g. "DE"');
    if (action.type === 'label' && !action.labels.every((l) => typeof l === 'string' && /^[A-Za-z0-9_:.-]{1,80}$/.test(l))) throw new TypeError('labels are short names such as "tvec:glorification" or "iab:I4GWl6"');
    const before = stateOf(post);
    const after = nextState(post, action);
    const now = this.now();
    // a counted match (from the check, the sweep) keeps the post away from adverts for good
    const matched = context.actor === 'upload_check' || context.actor === 'video_check' || context.actor === 'retro_sweep' ? action.type !== 'publish' || undefined : undefined;
    await this.store.setState(
      post.id,
      { ...after, ...(matched !== undefined && { matched }), decisionId: context.decisionId ?? null, publishedAt: after.visibility === 'published' ? now : null },
      { action: JSON.stringify(action), actor: context.actor, decisionId: context.decisionId ?? null, reason: context.reason },
      now,
    );
    const what = restricted(before, after);
    if (what) await this.ads.noticeFor(post.id, what, context.reason, context.decisionId ?? null, now);
    return { applied: true, state: after };
  }

  async describe(subject: Subject): Promise<SubjectInfo | undefined> {
    const id = postIdOf(subject);
    const post = id === undefined ? undefined : await this.store.post(id);
    if (!post || post.visibility === 'deleted') return undefined;
    const media = (await this.store.mediaOfPosts([post.id])).get(post.id) ?? [];
    const types = new Set<SubjectInfo['contentTypes'][number]>();
    if (post.text) types.add('text');
    if (post.links.length) types.add('link');
    for (const m of media) types.add(m.kind);
    return { subject, uploader: post.author, contentTypes: [...types], url: `/v1/posts/${post.id}`, createdAt: post.createdAt, state: stateOf(post) };
  }

  async applyToAccount(username: string, action: AccountAction, context: ActionContext): Promise<ActionOutcome> {
    const now = this.now();
    if (action.type === 'reinstate') {
      await this.store.setAccountStatus(username, null, null, context.decisionId ?? null, context.reason, now);
      await this.store.setChannelsStatus(username, 'active', now);
    } else if (action.type === 'suspend') {
      await this.store.setAccountStatus(username, 'suspended', action.until, context.decisionId ?? null, context.reason, now);
    } else {
      await this.store.setAccountStatus(username, 'terminated', null, context.decisionId ?? null, context.reason, now);
      await this.store.setChannelsStatus(username, 'hidden', now);
    }
    return { applied: true };
  }
}
