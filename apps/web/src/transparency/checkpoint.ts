/**
 * The public page's first check, kept small (no zod, no MLS) so the page loads fast: the latest
 * checkpoint verified in this browser by the log's verifier (packages/log/src/verifier) against the key
 * pinned here, the witnesses' cosignatures, and consistency with the checkpoint this browser saw last
 * (a split view is caught here). The checks are the log package's own (audit.ts), over a fetch client.
 */
import type { LogHttpClient } from '@doublelock/log';
import { checkConsistency, fetchCheckpoint } from '@doublelock/log/audit';
import { keyIdHex, parseNote, parseVerifierKey, requireWitnesses, toBase64, toHex, type VerifiedCheckpoint } from '@doublelock/log/verifier';
import { fromBase64Url } from '@doublelock/protocol/encoding';
import { responseError } from '../ui/errors.ts';

const PIN = 'doublelock.transparency.logKey';
const SEEN = 'doublelock.transparency.seen';

export interface PublicConfig {
  logKey: string;
  logWitnesses: string[];
  lawfulAccess: boolean;
  trustRoot: string | null;
}

async function get(path: string): Promise<Response> {
  const response = await fetch(path, { cache: 'no-store' });
  if (!response.ok) throw await responseError(response);
  return response;
}

/** Just what audit.ts's checks call, over fetch. */
export const logClient = {
  checkpoint: async () => (await get('/v1/log/checkpoint')).text(),
  witnessedCheckpoint: async (k: number) => (await get(`/v1/log/checkpoint/witnessed?k=${k}`)).text(),
  entries: async (start: number, end: number) => ((await (await get(`/v1/log/entries?start=${start}&end=${end}`)).json()) as { entries: string[] }).entries.map(fromBase64Url),
  consistencyProof: async (from: number, to: number) => ((await (await get(`/v1/log/proof/consistency?from=${from}&to=${to}`)).json()) as { proof: string[] }).proof.map(fromBase64Url),
} as unknown as LogHttpClient;

/** The log key this browser trusts: pinned on first visit, or set by the person (from a source they trust). */
export function pinnedLogKey(offered: string): { key: string; firstUse: boolean } {
  const pinned = localStorage.getItem(PIN);
  if (pinned) return { key: pinned, firstUse: false };
  localStorage.setItem(PIN, offered);
  return { key: offered, firstUse: true };
}

export function pinLogKey(key: string): void {
  parseVerifierKey(key); // throws on a malformed key
  localStorage.setItem(PIN, key);
  localStorage.removeItem(SEEN);
}

export interface CheckpointReport {
  checkpoint: VerifiedCheckpoint & { note: string };
  logKey: string;
  firstUse: boolean;
  witnesses: Array<{ name: string; keyId: string; time: string }>;
  unknownSignatures: string[];
  previous: { size: number; at: string } | undefined;
  rootHex: string;
}

export async function verifyLatestCheckpoint(config: PublicConfig): Promise<CheckpointReport> {
  const { key, firstUse } = pinnedLogKey(config.logKey);
  const checkpoint = await fetchCheckpoint(logClient, { logKey: key });
  const witnesses = config.logWitnesses.length > 0 ? requireWitnesses(checkpoint.note, config.logWitnesses, 0) : [];
  const known = new Set([parseVerifierKey(key), ...config.logWitnesses.map(parseVerifierKey)].map((k) => `${k.name}+${keyIdHex(k.keyId)}`));
  const unknownSignatures = parseNote(checkpoint.note).signatures.filter((s) => !known.has(`${s.name}+${keyIdHex(s.keyId)}`)).map((s) => s.name);
  const seenText = localStorage.getItem(SEEN);
  const seen = seenText ? (JSON.parse(seenText) as { size: number; rootHash: string; note: string; at: string }) : undefined;
  await checkConsistency(logClient, seen && { size: seen.size, rootHash: seen.rootHash, note: seen.note }, checkpoint);
  if (!seen || checkpoint.size >= seen.size) {
    localStorage.setItem(SEEN, JSON.stringify({ size: checkpoint.size, rootHash: toBase64(checkpoint.rootHash), note: checkpoint.note, at: new Date().toISOString() }));
  }
  return {
    checkpoint,
    logKey: key,
    firstUse,
    witnesses: witnesses.map((w) => ({ name: w.name, keyId: keyIdHex(w.keyId), time: new Date(Number(w.timestamp) * 1000).toISOString() })),
    unknownSignatures,
    previous: seen && { size: seen.size, at: seen.at },
    rootHex: toHex(checkpoint.rootHash),
  };
}
