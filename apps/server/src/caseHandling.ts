/**
 * Wiring of notice and action (packages/cases) into the server: the content seam over channels' posts
 * and accounts (moderation's actioner roles, which ChannelActioner implements) and over reported chat
 * messages (only the reported message, from the franking report); the evidence key; events logged and
 * counted (an overdue case is logged at error level and raises a gauge — loudly).
 */
import { Cases, type ActionNote, type CaseEvent, type ContentActioner, type ContentRef, type ContentSnapshot, type EvidenceMaterial } from '@doublelock/cases';
import type { ContentAction, DecisionStore } from '@doublelock/moderation';
import type { ContentType } from '@doublelock/protocol/dsa';
import { serverSecret, type Db } from '@doublelock/store';
import { randomBytes } from '@noble/hashes/utils.js';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { Counter, Gauge } from 'prom-client';
import type { ServerConfig } from './config.ts';
import type { ServerContext } from './context.ts';

const TYPES: Record<string, ContentType> = { text: 'CONTENT_TYPE_TEXT', image: 'CONTENT_TYPE_IMAGE', video: 'CONTENT_TYPE_VIDEO', link: 'CONTENT_TYPE_OTHER' };
const POST_PATH = /^\/(?:v1\/)?(?:posts|p)\/(\d{1,15})\/?$/;

/**
 * The evidence key lives outside the database (a file, 0600): a copy of the database alone does not
 * open preserved evidence. Nodes sharing a PostgreSQL database must share this file.
 */
export function loadEvidenceKey(config: ServerConfig): Uint8Array {
  const path = config.evidenceKeyFile ?? join(config.dataDir, 'evidence.key');
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, Buffer.from(randomBytes(32)).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
  }
  chmodSync(path, 0o600);
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64url');
  if (key.length !== 32) throw new Error(`${path} does not hold a 32-byte evidence key (base64url)`);
  return key;
}

/** Content of this server as cases see it: posts through channels, reported messages through reports. */
export type ContentHolders = Pick<ServerContext, 'config' | 'channels' | 'stores' | 'blobs' | 'origins'>;

export function serverContent(ctx: ContentHolders): ContentActioner {
  const channels = ctx.channels;
  const origin = () => ctx.config.publicUrl ?? ctx.origins()[0] ?? '';
  const postId = (ref: ContentRef) => (ref.kind === 'post' && /^\d{1,15}$/.test(ref.id) ? Number(ref.id) : undefined);
  const act = async (ref: ContentRef, action: ContentAction, note: ActionNote) => {
    if (ref.kind !== 'post') throw new Error(`a ${ref.kind} cannot be ${action.type}d (only its sender's account can be restricted)`);
    await channels.actioner.apply(`post:${ref.id}`, action, { decisionId: note.decisionId, actor: note.actor === 'upload_check' ? 'moderator' : note.actor, reason: note.reason });
  };
  return {
    async resolve(url) {
      let u: URL;
      try {
        u = new URL(url);
      } catch {
        return undefined;
      }
      const ours = new Set([...ctx.origins(), ...(ctx.config.publicUrl ? [ctx.config.publicUrl] : [])].map((o) => new URL(o).host));
      const m = POST_PATH.exec(u.pathname);
      if (!m || !ours.has(u.host)) return undefined;
      const post = await channels.store.post(Number(m[1]));
      return post && post.visibility !== 'deleted' ? { kind: 'post', id: String(post.id) } : undefined;
    },
    async snapshot(ref): Promise<ContentSnapshot | undefined> {
      if (ref.kind === 'message') {
        const report = /^\d{1,15}$/.test(ref.id) ? await ctx.stores.reports.get(Number(ref.id)) : undefined;
        return report && { ref, url: `report:${report.id}`, owner: report.sender, createdAt: report.createdAt, contentTypes: ['CONTENT_TYPE_TEXT'], text: new TextDecoder().decode(report.payload) };
      }
      const id = postId(ref);
      const post = id === undefined ? undefined : await channels.store.post(id);
      const info = await channels.actioner.describe(`post:${ref.id}`);
      if (!post || !info) return undefined;
      const media = (await channels.store.mediaOfPosts([post.id])).get(post.id) ?? [];
      return {
        ref,
        url: `${origin()}${info.url}`,
        owner: info.uploader,
        createdAt: info.createdAt,
        contentTypes: [...new Set(info.contentTypes.map((t) => TYPES[t]!))],
        text: post.text,
        media: media.map((m) => ({ url: `/v1/media/${m.id}`, type: m.contentType })),
        state: { ...info.state },
      };
    },
    apply: (ref, r, note) => act(ref, r.type === 'label' ? { type: 'label', labels: r.label.split(/\s+/).filter(Boolean).map((l) => (/^[A-Za-z0-9_:.-]{1,80}$/.test(l) ? l : 'moderation:label')) } : r.type === 'age_restrict' ? { type: 'age_restrict' } : r, note),
    release: (ref, note) => act(ref, { type: 'publish' }, note),
    reinstate: (ref, note) => act(ref, { type: 'reinstate' }, note),
    async applyToAccount(username, action, note) {
      await channels.actioner.applyToAccount(username, action, { decisionId: note.decisionId, actor: note.actor === 'upload_check' ? 'moderator' : note.actor, reason: note.reason });
    },
    async evidence(ref): Promise<EvidenceMaterial | undefined> {
      const id = postId(ref);
      const post = id === undefined ? undefined : await channels.store.post(id);
      if (!post) return undefined;
      const media = (await channels.store.mediaOfPosts([post.id])).get(post.id) ?? [];
      const files = [{ name: 'post.json', type: 'application/json', bytes: new TextEncoder().encode(JSON.stringify(post)) }];
      for (const m of media) {
        const path = await ctx.blobs.path(m.sha256);
        if (path) files.push({ name: `media-${m.id}`, type: m.contentType, bytes: new Uint8Array(await readFile(path)) });
      }
      return { metadata: { post: post.id, author: post.author, channel: post.channelId, createdAt: post.createdAt, media: media.map((m) => ({ id: m.id, sha256: m.sha256, type: m.contentType, bytes: m.bytes })), history: await channels.store.actions(post.id) }, files };
    },
  };
}

export async function createCaseHandling(ctx: ContentHolders & Pick<ServerContext, 'metrics' | 'now'>, db: Db, pipeline: DecisionStore, log: FastifyBaseLogger): Promise<Cases> {
  const config = ctx.config;
  const deploymentId = config.casesDeploymentId ?? Buffer.from(await serverSecret(db, 'cases-deployment-id', () => randomBytes(6))).toString('hex');
  const cases = new Cases({
    db,
    now: ctx.now,
    content: serverContent(ctx),
    pipeline,
    reports: ctx.stores.reports,
    config: {
      provider: config.casesProvider,
      deploymentId,
      evidenceKey: loadEvidenceKey(config),
      claimTtlMs: config.claimTtlMs,
      termsUrl: config.termsUrl,
      outOfCourt: config.outOfCourt,
      automatedTerm: config.automatedTerm,
    },
  });
  const events = new Counter({ name: 'doublelock_case_events_total', help: 'Notice-and-action events by kind (escalated, overdue, decided…)', labelNames: ['event'] as const, registers: [ctx.metrics.registry] });
  const overdue = new Gauge({
    name: 'doublelock_cases_overdue',
    help: 'Open cases past their legal deadline',
    registers: [ctx.metrics.registry],
    collect: async () => {
      const row = await db.get<{ n: number }>("SELECT COUNT(*) AS n FROM cases WHERE state <> 'decided' AND due_at <= ?", [ctx.now()]);
      overdue.set(Number(row?.n ?? 0));
    },
  });
  cases.onEvent((e: CaseEvent) => {
    events.inc({ event: e.event });
    if (e.event === 'overdue') log.error({ caseId: e.caseId, ...e.detail }, 'case OVERDUE: its legal deadline has passed');
    else if (e.event === 'escalated') log.warn({ caseId: e.caseId, ...e.detail }, 'case escalated: its deadline is near');
    else if (e.event === 'apply_failed' || e.event === 'lift_failed') log.error({ caseId: e.caseId, ...e.detail }, `case ${e.event.replace('_', ' ')}`);
  });
  return cases;
}
