/**
 * Test support: a content store behind the cases' content seam (posts with owners, restrictions that
 * apply and lift), a fake clock, and a Cases on a real database. The content store stands where the
 * channels' posts stand in the server; the cases code cannot tell them apart, which is the point.
 */
import { utf8 } from '@doublelock/protocol';
import type { Db } from '@doublelock/store';
import type { AccountAction, ContentActioner, ContentRef, ContentRestriction, ContentSnapshot, EvidenceMaterial } from '../src/content.ts';
import { Cases } from '../src/service.ts';

export interface Post {
  id: string;
  owner: string;
  text: string;
  createdAt: number;
  restrictions: ContentRestriction[];
  held: boolean;
}

export class PostShelf implements ContentActioner {
  readonly posts = new Map<string, Post>();
  readonly log: string[] = [];
  readonly accounts = new Map<string, AccountAction>();
  failNext = false;

  add(id: string, owner: string, text: string, createdAt: number): Post {
    const post: Post = { id, owner, text, createdAt, restrictions: [], held: false };
    this.posts.set(id, post);
    return post;
  }

  url(id: string): string {
    return `https://social.example/p/${id}`;
  }

  visible(id: string): boolean {
    const p = this.posts.get(id)!;
    return !p.held && !p.restrictions.some((r) => r.type === 'remove' || r.type === 'geo_restrict');
  }

  async resolve(url: string): Promise<ContentRef | undefined> {
    const m = /^https:\/\/social\.example\/p\/([\w-]+)$/.exec(url);
    return m && this.posts.has(m[1]!) ? { kind: 'post', id: m[1]! } : undefined;
  }

  async snapshot(ref: ContentRef): Promise<ContentSnapshot | undefined> {
    const p = this.posts.get(ref.id);
    return p && { ref, url: this.url(p.id), owner: p.owner, createdAt: p.createdAt, contentTypes: ['CONTENT_TYPE_TEXT'], text: p.text, language: 'EN' };
  }

  async apply(ref: ContentRef, restriction: ContentRestriction): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('content store unavailable');
    }
    const p = this.posts.get(ref.id)!;
    if (!p.restrictions.some((r) => r.type === restriction.type)) p.restrictions.push(restriction);
    this.log.push(`apply ${ref.id} ${restriction.type}`);
  }

  async release(ref: ContentRef): Promise<void> {
    this.posts.get(ref.id)!.held = false;
    this.log.push(`release ${ref.id}`);
  }

  async reinstate(ref: ContentRef): Promise<void> {
    const p = this.posts.get(ref.id)!;
    p.restrictions = [];
    p.held = false;
    this.log.push(`reinstate ${ref.id}`);
  }

  async applyToAccount(username: string, action: AccountAction): Promise<void> {
    this.accounts.set(username, action);
    this.log.push(`account ${username} ${action.type}`);
  }

  async evidence(ref: ContentRef): Promise<EvidenceMaterial | undefined> {
    const p = this.posts.get(ref.id);
    return p && { metadata: { postId: p.id, owner: p.owner, createdAt: p.createdAt }, files: [{ name: 'post.txt', type: 'text/plain', bytes: utf8(p.text) }] };
  }
}

export const T0 = Date.UTC(2025, 6, 1, 9, 0, 0);
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export class FakeClock {
  constructor(public time = T0) {}
  readonly now = () => this.time;
  advance(ms: number): number {
    this.time += ms;
    return this.time;
  }
}

export function makeCases(db: Db, clock: FakeClock, shelf = new PostShelf()) {
  const cases = new Cases({
    db,
    now: clock.now,
    content: shelf,
    config: {
      provider: 'social.example',
      deploymentId: 'test',
      evidenceKey: new Uint8Array(32).fill(7),
      claimTtlMs: 30 * MINUTE,
      termsUrl: 'https://social.example/terms',
      outOfCourt: 'you may also refer the dispute to a certified out-of-court dispute settlement body (DSA Art. 21).',
      automatedTerm: 'Terms of service §4: terrorist and violent extremist content',
    },
  });
  return { cases, shelf, ctx: cases.ctx };
}

/** A moderator's removal of terrorist content (TCO Art. 2(7), DSA category and keyword) for a case at `version`. */
export const removalDecision = (version: number) => ({
  version,
  actions: [{ type: 'remove' as const }],
  ground: { kind: 'illegal' as const, law: 'Regulation (EU) 2021/784 Art. 2(7); Directive (EU) 2017/541 Art. 5', explanation: 'The post glorifies a terrorist attack.' },
  category: 'STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY' as const,
  keywords: ['KEYWORD_TERRORIST_CONTENT' as const],
  facts: 'The post shows footage of the attack with text praising it.',
});
