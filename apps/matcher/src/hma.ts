/**
 * HMA-compatible public routes (Meta's Hasher-Matcher-Actioner v2, "OpenMediaMatch": blueprints
 * hashing.py, matching.py, curation.py), so a platform that does not run Doublelock — a blog host, a
 * paste site, a small forum — checks an upload with one HTTP call in any language, with the clients
 * it already has for HMA:
 *   POST /h/hash                   multipart upload, field `photo` or `video` → { pdq, md5, sha256 } / { vpdq, video_md5, … }
 *   GET  /m/lookup?signal_type=&signal=   → [bank names that match]
 *   POST /m/lookup                 multipart upload → { <signal_type>: [bank names] }
 *   GET  /m/raw_lookup?signal_type=&signal=[&include_distance=true] → { matches: [content_id | {content_id, distance, bank, labels}] }
 *   GET  /m/index/status           → { pdq: { present, built_to, size }, … }
 *   GET|POST /c/banks, GET|PUT|DELETE /c/bank/:name, POST /c/bank/:name/signal, POST /c/bank/:name/content,
 *   DELETE /c/bank/:name/content/:id   bank curation
 * Every route needs `Authorization: Bearer <api key>` (HMA deployments put an API key in front of it).
 * A bank's `matching_enabled_ratio` is its rollout share (BankSettings.rolloutPercent); lookup applies
 * it with HMA's coin flip seeded by `seed`, and each bank's own PDQ threshold.
 * Hashes use the shared hasher (hashFile: PDQ for images, vPDQ with ffmpeg for videos, MD5, SHA-256).
 */
import multipart from '@fastify/multipart';
import { BankSettingsStore, BankStore, ContentError, hashFile, inRollout, normaliseSignalValue, signalTypeFromForeign, UrlError, type SignalMatch, type SignalType } from '@doublelock/moderation';
import { formatVpdqSignal } from '@doublelock/moderation';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasToken, QueryError, toQuerySignals } from './internalApi.ts';
import type { MatcherContext, MatcherPlugin } from './service.ts';

export interface HmaOptions {
  /** the bearer key every HMA route requires (at least 16 characters) */
  apiKey: string;
  /** largest upload hashed, in bytes (default 50 MB) */
  maxUploadBytes?: number;
}

class HmaError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const bad = (message: string): never => {
  throw new HmaError(400, message);
};

/** HMA's name of each of our signal types, and the names accepted for it. */
const HMA_NAMES: Record<SignalType, string> = { pdq: 'pdq', md5: 'video_md5', sha256: 'sha256', url: 'url', vpdq: 'vpdq', text: 'text' };

function signalType(name: unknown): SignalType {
  if (typeof name !== 'string' || !name) bad('signal_type is required');
  const t = signalTypeFromForeign(name as string);
  if (!t || t === 'text') bad(`No such SignalType '${String(name)}'`);
  return t!;
}

/** One uploaded file (multipart, HMA's way), hashed by the shared hasher. */
async function hashUpload(request: FastifyRequest, maxBytes: number): Promise<Record<string, string>> {
  if (!request.isMultipart()) bad('Missing multipart/form-data file upload');
  const parts = request.files({ limits: { files: 2, fileSize: maxBytes } });
  const first = await parts.next();
  if (first.done) bad('Missing multipart/form-data file upload');
  const file = first.value!;
  if (file.fieldname !== 'photo' && file.fieldname !== 'video') bad(`no such content_type: '${file.fieldname}' (photo or video)`);
  const bytes = await file.toBuffer();
  if (file.file.truncated) throw new HmaError(413, `the file is larger than ${maxBytes} bytes`);
  if (!(await parts.next()).done) bad('Only one file allowed per request');
  const dir = await mkdtemp(join(tmpdir(), 'dl-hma-'));
  try {
    const path = join(dir, randomBytes(8).toString('hex'));
    await writeFile(path, bytes);
    const s = await hashFile(path);
    if (file.fieldname === 'photo' && s.kind !== 'image') bad('the photo is not an image we can read');
    if (s.kind === 'image') return { pdq: s.pdq!.toHex(), md5: s.md5, sha256: s.sha256 };
    return { ...(s.vpdq && { vpdq: formatVpdqSignal(s.vpdq) }), video_md5: s.md5, sha256: s.sha256 };
  } catch (error) {
    if (error instanceof ContentError) throw new HmaError(error.code === 'timeout' ? 422 : 400, error.message);
    throw error;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function hmaRoutes(options: HmaOptions): MatcherPlugin {
  if (typeof options.apiKey !== 'string' || options.apiKey.length < 16) throw new Error('the HMA API key must be at least 16 characters');
  const maxBytes = options.maxUploadBytes ?? 50 * 1024 * 1024;
  return async (app: FastifyInstance, ctx: MatcherContext) => {
    const banks = new BankStore(ctx.db);
    const settings = new BankSettingsStore(ctx.db);
    await app.register(multipart, { limits: { fileSize: maxBytes, files: 2, fields: 10 } });
    app.addHook('onRequest', async (request, reply) => {
      if (!hasToken(request, options.apiKey)) return reply.code(401).send({ code: 'unauthenticated', message: 'this API needs its key: Authorization: Bearer <key>' });
    });
    app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
      if (error instanceof HmaError) return reply.code(error.status).send({ code: error.status === 413 ? 'payload_too_large' : error.status === 404 ? 'not_found' : 'bad_request', message: error.message });
      if (error instanceof QueryError || error instanceof UrlError || error instanceof TypeError) return reply.code(400).send({ code: 'bad_request', message: error.message });
      if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) return reply.code(error.statusCode).send({ code: error.statusCode === 413 ? 'payload_too_large' : 'bad_request', message: error.message });
      request.log.error(error);
      return reply.code(500).send({ code: 'internal_error', message: 'internal error' });
    });

    /** Matches of one signal, against enabled banks, within each bank's threshold and rollout (seeded coin flip). */
    const lookupMatches = async (type: SignalType, value: unknown, seed: string | undefined): Promise<SignalMatch[]> => {
      if (typeof value !== 'string' || !value) bad('signal is required');
      let canonical: string;
      try {
        canonical = normaliseSignalValue(type, value as string);
      } catch (error) {
        return bad(`invalid signal type: ${(error as Error).message}`);
      }
      const query = toQuerySignals(type === 'pdq' ? { pdq: canonical } : type === 'md5' ? { md5: canonical } : type === 'sha256' ? { sha256: canonical } : type === 'url' ? { url: canonical } : { vpdq: canonical });
      const found = await ctx.banks.matcher.match(query);
      const all = await settings.all();
      return found.filter((m) => {
        const s = all.get(m.bank);
        if (!s || !s.enabled) return false;
        if (m.type === 'pdq' && m.distance !== undefined && m.distance > s.pdqThreshold) return false;
        return inRollout(m.bank, seed ?? canonical, s.rolloutPercent);
      });
    };
    const bankNames = (matches: SignalMatch[]) => [...new Set(matches.map((m) => m.bank))].sort();
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

    app.post('/h/hash', async (request) => hashUpload(request, maxBytes));

    app.get('/m/lookup', async (request) => {
      const q = request.query as Record<string, unknown>;
      if (q.url !== undefined) bad('lookup by url is not offered (the matcher fetches nothing): upload the file with POST /m/lookup');
      return bankNames(await lookupMatches(signalType(q.signal_type), q.signal, str(q.seed)));
    });
    app.post('/m/lookup', async (request) => {
      const hashes = await hashUpload(request, maxBytes);
      const seed = str((request.query as Record<string, unknown>).seed);
      const out: Record<string, string[]> = {};
      for (const [name, value] of Object.entries(hashes)) out[name] = bankNames(await lookupMatches(signalType(name), value, seed));
      return out;
    });
    app.get('/m/raw_lookup', async (request) => {
      const q = request.query as Record<string, unknown>;
      const matches = await lookupMatches(signalType(q.signal_type), q.signal, str(q.seed));
      if (q.include_distance !== 'true' && q.include_distance !== '1') return { matches: matches.map((m) => m.signalId) };
      return { matches: matches.map((m) => ({ content_id: m.signalId, distance: String(m.distance ?? 0), bank: m.bank, labels: m.labels })) };
    });
    app.get('/m/index/status', async (request) => {
      const status = ctx.status();
      const limit = str((request.query as Record<string, unknown>).signal_type);
      const counts = await ctx.db.all<{ signal_type: string; n: number; newest: number | null }>('SELECT signal_type, COUNT(*) AS n, MAX(added_at) AS newest FROM moderation_signals WHERE removed_at IS NULL GROUP BY signal_type');
      const out: Record<string, { present: boolean; built_to: number; size: number }> = {};
      for (const t of ['pdq', 'md5', 'sha256', 'url', 'vpdq'] as SignalType[]) {
        const c = counts.find((r) => r.signal_type === t);
        out[HMA_NAMES[t]] = c ? { present: true, built_to: Math.floor(status.refreshedAt / 1000), size: Number(c.n) } : { present: false, built_to: -1, size: 0 };
      }
      if (limit !== undefined) {
        const name = Object.keys(out).find((k) => k === limit || HMA_NAMES[signalTypeFromForeign(limit) ?? 'text'] === k);
        if (!name) bad(`No such signal type '${limit}'`);
        return { [name!]: out[name!] };
      }
      return out;
    });

    // curation
    const bankView = async (name: string) => {
      const s = await settings.get(name);
      return { name, matching_enabled_ratio: s.enabled ? s.rolloutPercent / 100 : 0 };
    };
    const requireBank = async (name: string) => {
      if (!(await banks.getBank(name))) throw new HmaError(404, `bank '${name}' not found`);
    };
    const ratio = (body: Record<string, unknown>): number | undefined => {
      if (body.enabled_ratio !== undefined) {
        const r = Number(body.enabled_ratio);
        if (!(r >= 0 && r <= 1)) bad('enabled_ratio must be a number from 0 to 1');
        return r;
      }
      if (body.enabled !== undefined) return body.enabled === true || body.enabled === 'true' || body.enabled === 1 ? 1 : 0;
      return undefined;
    };
    const applyRatio = async (name: string, r: number | undefined) => {
      if (r !== undefined) await settings.set(name, { enabled: r > 0, rolloutPercent: Math.round(r * 10_000) / 100 });
    };
    const body = (request: FastifyRequest) => (request.body && typeof request.body === 'object' ? (request.body as Record<string, unknown>) : bad('this endpoint expects a JSON object'));
    const name = (request: FastifyRequest) => (request.params as { name: string }).name;

    app.get('/c/banks', async () => Promise.all((await banks.listBanks()).map((b) => bankView(b.name))));
    app.post('/c/banks', async (request, reply: FastifyReply) => {
      const b = body(request);
      if (typeof b.name !== 'string') bad('name is required');
      if (await banks.getBank(b.name as string)) throw new HmaError(403, 'Bank already exists');
      await banks.createBank(b.name as string);
      await applyRatio(b.name as string, ratio(b));
      await ctx.banks.refresh();
      return reply.code(201).send(await bankView(b.name as string));
    });
    app.get('/c/bank/:name', async (request) => {
      await requireBank(name(request));
      return bankView(name(request));
    });
    app.put('/c/bank/:name', async (request) => {
      await requireBank(name(request));
      const b = body(request);
      if (b.name !== undefined && b.name !== name(request)) bad('renaming a bank is not offered');
      await applyRatio(name(request), ratio(b));
      await ctx.banks.refresh();
      return bankView(name(request));
    });
    app.delete('/c/bank/:name', async (request) => {
      await banks.deleteBank(name(request));
      return { message: 'Done' };
    });
    const addSignals = async (bank: string, signals: Record<string, unknown>) => {
      const entries = Object.entries(signals);
      if (!entries.length) bad('No signals given');
      const prepared = entries.map(([type, value]) => {
        const t = signalType(type);
        if (typeof value !== 'string') return bad(`Invalid ${type} signal: not a string`);
        try {
          return { type: t, value: normaliseSignalValue(t, value) };
        } catch (error) {
          return bad(`Invalid ${type} signal: ${(error as Error).message}`);
        }
      });
      let id = 0;
      for (const p of prepared) id = (await banks.addSignal(bank, { type: p.type, value: p.value, source: 'hma-api' })).id;
      await ctx.banks.refresh();
      return { id, signals: Object.fromEntries(prepared.map((p) => [HMA_NAMES[p.type], p.value])) };
    };
    app.post('/c/bank/:name/signal', async (request) => {
      await requireBank(name(request));
      return addSignals(name(request), body(request));
    });
    app.post('/c/bank/:name/content', async (request) => {
      await requireBank(name(request));
      const hashes = await hashUpload(request, maxBytes);
      const { sha256: _sha, ...banked } = hashes; // MD5 stands for the exact copy, as HMA banks video_md5
      void _sha;
      return addSignals(name(request), banked.pdq ? { pdq: banked.pdq } : banked);
    });
    app.delete('/c/bank/:name/content/:id', async (request) => {
      await requireBank(name(request));
      const id = Number((request.params as { id: string }).id);
      if (!Number.isSafeInteger(id) || id < 1) bad('content id must be a positive integer');
      const [s] = await banks.getSignalsByIds([id]);
      if (!s || s.bank !== name(request) || s.removedAt !== null) return { deleted: 0 };
      return { deleted: (await banks.removeSignal(s.bank, s.type, s.value)) ? 1 : 0 };
    });
  };
}
