/**
 * The agency's side of a decryption: ask custodians for decryption shares, verify every Chaum–Pedersen
 * proof against the custodian's verification key from the certified epoch key, combine t valid shares
 * by Lagrange interpolation, recover K, and check it by recomputing the escrow field from K and the
 * message's TDH2 label (derived from the provider's delivery record, as the custodians derive it) — so a wrong K (from a bad share that slipped through, or fewer than t shares) can
 * never be reported as the message's key. Custodians that refuse or lie are reported with their reason.
 */
import { fromBase64Url } from '@doublelock/protocol';
import { CustodianHttpError, postJson } from './ceremony.ts';
import type { EpochKey } from './dkg.ts';
import { type DecryptionShare, combineShares, decryptWithSharedPoint, verifyDecryptionShare } from './elgamal.ts';
import { type DeliveryRecord, deliveryLabel } from './delivery.ts';
import { parseEscrowField, verifyEscrowFieldWithLabel } from './escrow.ts';
import { verifyReleaseRecord, type SignedReleaseRecord } from './logEntries.ts';
import { shareBinding } from './release.ts';
import { type SignedShareRequest, shareResponseSchema } from './shareRequest.ts';
import type { TrustConfig } from './trust.ts';

export interface CustodianFailure {
  custodian: number;
  code: string;
  reason: string;
}

export interface Decryption {
  contentKey: Uint8Array;
  /** the verified shares that were combined */
  shares: DecryptionShare[];
  /** each custodian's signed release record (evidence and log entries) */
  releases: SignedReleaseRecord[];
  failures: CustodianFailure[];
}

export class DecryptionRefused extends Error {
  constructor(readonly failures: CustodianFailure[]) {
    super(`fewer than t custodians released a valid share: ${failures.map((f) => `${f.custodian} ${f.code}`).join(', ')}`);
    this.name = 'DecryptionRefused';
  }
}

export interface DecryptOptions {
  trust: TrustConfig;
  epochKey: EpochKey;
  /** the warrant (id and revision) the shares are requested under: each DLEQ proof is bound to it */
  warrant: { id: string; revision: number };
  field: Uint8Array;
  /** the provider's delivery record of the message: the field's label is derived from it */
  record: DeliveryRecord;
  /** builds and signs a fresh request addressed to one custodian */
  request: (custodian: number) => SignedShareRequest;
  /** the custodians to ask first (default: all, in index order); others are asked when these fail */
  prefer?: readonly number[];
  fetch?: typeof fetch;
}

/** Asks custodians in waves of the number still needed until t verified shares are in hand. */
export async function decryptWithCustodians(options: DecryptOptions): Promise<Decryption> {
  const { trust, epochKey, field } = options;
  const t = trust.threshold;
  const parsed = parseEscrowField(field);
  if (parsed.epoch !== epochKey.epoch) throw new Error(`the field is for epoch ${parsed.epoch}, not ${epochKey.epoch}`);
  const label = deliveryLabel(options.record, parsed.epoch);
  const order = [...(options.prefer ?? []), ...trust.custodians.map((c) => c.index).filter((i) => !options.prefer?.includes(i))];
  const shares: DecryptionShare[] = [];
  const releases: SignedReleaseRecord[] = [];
  const failures: CustodianFailure[] = [];
  let next = 0;
  while (shares.length < t && next < order.length) {
    const wave = order.slice(next, next + (t - shares.length));
    next += wave.length;
    await Promise.all(
      wave.map(async (i) => {
        const custodian = trust.custodians[i - 1]!;
        try {
          const raw = await postJson(i, `${custodian.url.replace(/\/$/, '')}/v1/shares`, options.request(i), options.fetch);
          // 202: held for the custodian operator's review; ask again once the operator approved.
          const held = raw as { code?: unknown; message?: unknown };
          if (held.code === 'review_pending') {
            failures.push({ custodian: i, code: 'review_pending', reason: String(held.message ?? 'held for operator review') });
            return;
          }
          const body = shareResponseSchema.parse(raw);
          const share: DecryptionShare = { index: i, share: fromBase64Url(body.share), proof: fromBase64Url(body.proof) };
          if (body.custodian !== i || !verifyDecryptionShare(share, epochKey.verificationKeys[i - 1]!, parsed.u, shareBinding(options.warrant, i, field))) {
            failures.push({ custodian: i, code: 'invalid_share', reason: 'the decryption share’s DLEQ proof does not verify' });
            return;
          }
          if (!verifyReleaseRecord(body.release, custodian.signingKey)) {
            failures.push({ custodian: i, code: 'invalid_release_record', reason: 'the release record is not signed by the custodian' });
            return;
          }
          shares.push(share);
          releases.push(body.release);
        } catch (error) {
          failures.push(
            error instanceof CustodianHttpError
              ? { custodian: i, code: error.code, reason: error.message }
              : { custodian: i, code: 'unreachable', reason: (error as Error).message },
          );
        }
      }),
    );
  }
  if (shares.length < t) throw new DecryptionRefused(failures);
  const used = shares.slice(0, t).sort((a, b) => a.index - b.index);
  const contentKey = decryptWithSharedPoint(epochKey.publicKey, parsed, combineShares(used), label);
  if (!verifyEscrowFieldWithLabel({ epoch: epochKey.epoch, publicKey: epochKey.publicKey }, field, contentKey, label))
    throw new Error('the recovered key does not reproduce the escrow field (wrong delivery record or a bad share)');
  return { contentKey, shares: used, releases, failures };
}
