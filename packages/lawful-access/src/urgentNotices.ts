/**
 * Serial urgent warrants, checked by the custodians themselves (IPA s.24; issue 9, break 4): once an urgent
 * warrant on a target lapsed unapproved (or was refused), another urgent warrant on that target is not
 * honoured without a judge's approval — even when the provider, which checks this first, skips the check.
 *
 * Custodians learn it from the log, without the log revealing targets: every release record made under
 * an urgent warrant carries an **urgent notice** — for each custodian j, a tag of the warrant id and a tag
 * of each target, HMAC-SHA256 (RFC 2104) under a key only the releasing custodian i and custodian j can
 * compute: SHA-256 of their static keys' ristretto255 Diffie–Hellman point (RFC 9496), labelled with the
 * deployment and the pair. Whether the warrant was approved, and its approval deadline, are in the clear.
 * The release record is signed and must be proven in the log before the share leaves (logFollower), so a
 * provider cannot drop the notice without withholding the release. The public sees tags it cannot link
 * to any username; each custodian links the notices addressed to it to the targets of a new request.
 */
import { fromBase64Url, lengthPrefixed, toBase64Url } from '@doublelock/protocol';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { z } from 'zod';
import { decodePoint, decodeScalar } from './group.ts';
import type { TrustConfig } from './trust.ts';
import type { Warrant } from './warrant.ts';

export const URGENT_PAIR_LABEL = 'doublelock/lawful-access/urgent-pair-key/v1';
const tag = z.string().regex(/^[A-Za-z0-9_-]{22}$/, '16 bytes, base64url');

export const urgentNoticeSchema = z.object({
  /** the judge approved the urgent warrant (it continues as a normal one) */
  approved: z.boolean(),
  /** the end of the third working day after issue (urgentDeadlines) */
  approveBy: z.number().int().nonnegative(),
  tags: z.array(z.object({ to: z.number().int().min(1).max(255), warrant: tag, targets: z.array(tag).max(100) })).max(255),
});
export type UrgentNotice = z.infer<typeof urgentNoticeSchema>;

/** The key custodians a and b share (DH of their static keys), symmetric in the pair. */
export function urgentPairKey(mySecret: Uint8Array, theirStaticKey: Uint8Array, deployment: string, me: number, them: number): Uint8Array {
  const shared = decodePoint(theirStaticKey, 'static key').multiply(decodeScalar(mySecret, 'static secret')).toBytes();
  return sha256(lengthPrefixed(URGENT_PAIR_LABEL, deployment, String(Math.min(me, them)), String(Math.max(me, them)), shared));
}

export const urgentTag = (pairKey: Uint8Array, kind: 'warrant' | 'target', value: string): string => toBase64Url(hmac(sha256, pairKey, lengthPrefixed(kind, value)).subarray(0, 16));

/** The notice a custodian attaches to a release under an urgent warrant: tags for every custodian (itself included). */
export function urgentNotice(me: number, mySecret: Uint8Array, trust: TrustConfig, warrant: Warrant, approved: boolean, approveBy: number): UrgentNotice {
  return {
    approved,
    approveBy,
    tags: trust.custodians.map((c) => {
      const key = urgentPairKey(mySecret, fromBase64Url(c.staticKey), trust.deployment, me, c.index);
      return { to: c.index, warrant: urgentTag(key, 'warrant', warrant.id), targets: warrant.targets.map((t) => urgentTag(key, 'target', t)) };
    }),
  };
}
