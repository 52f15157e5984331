/**
 * The custodian's own serial-urgent check (IPA s.24; packages/lawful-access urgentNotices.ts): an urgent
 * warrant without a judge's approval is refused when the log shows, addressed to this custodian, an urgent
 * notice under a *different* warrant on one of its targets that lapsed unapproved (its approval deadline
 * passed and no release under it was made with an approval) or was refused (a refusal notice this custodian
 * holds names it). The provider checks the same first; this holds when it does not.
 */
import { type SignedWarrant, type TrustConfig, urgentPairKey, urgentTag } from '@doublelock/lawful-access';
import { fromBase64Url } from '@doublelock/protocol';
import type { Db } from '@doublelock/store';
import type { LogFollower } from './logFollower.ts';

export async function serialUrgentProblem(o: { db: Db; follower: LogFollower; trust: TrustConfig; me: number; staticSecret: Uint8Array; signed: SignedWarrant; now: number }): Promise<string | undefined> {
  const w = o.signed.warrant;
  if (!w.urgent || o.signed.decision?.decision === 'approved') return undefined;
  const refused = (await o.db.all<{ warrant_id: string }>("SELECT DISTINCT warrant_id FROM custodian_warrant_decisions WHERE kind = 'refusal'")).map((r) => r.warrant_id);
  for (const c of o.trust.custodians) {
    const key = urgentPairKey(o.staticSecret, fromBase64Url(c.staticKey), o.trust.deployment, o.me, c.index);
    const thisWarrant = urgentTag(key, 'warrant', w.id);
    for (const notice of await o.follower.urgentNotices(c.index, w.targets.map((t) => urgentTag(key, 'target', t)))) {
      if (notice.warrantTag === thisWarrant || (await o.follower.urgentApproved(notice.commitment))) continue;
      const wasRefused = refused.some((id) => urgentTag(key, 'warrant', id) === notice.warrantTag);
      if (wasRefused || notice.approveBy <= o.now)
        return `an earlier urgent warrant on the same target ${wasRefused ? 'was refused' : 'lapsed unapproved'} (log leaf ${notice.leafIndex}): this one needs a Judicial Commissioner's approval first`;
    }
  }
  return undefined;
}
