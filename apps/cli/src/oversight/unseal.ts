/**
 * After the secrecy period a warrant and its commitment nonce are revealed. Beyond checking that the
 * commitment opens (warrant.ts, `openWarrantCommitment`), the auditor can then hold everything the log
 * shows under that commitment against what was authorised: the logged revision and issue day match the
 * document, both signatures (Secretary of State, Judicial Commissioner) verify under the pinned trust
 * configuration, no share was released before the warrant was in force or after its epochs' shares
 * were due for erasure, content was decrypted only under a warrant that authorises content (CC), and
 * no more messages were decrypted than its limit allows.
 */
import { DAY_MS } from '@doublelock/lawful-access/epoch';
import type { TrustConfig } from '@doublelock/lawful-access/trust';
import { warrantStatus, type SignedWarrant, type Warrant } from '@doublelock/lawful-access/warrant';
import type { Tally } from './tally.ts';

export interface UnsealFinding {
  leafIndex: number | null;
  detail: string;
}

export interface UnsealCheck {
  leafIndex: number;
  /** 'verified', or why the double lock could not be or was not verified */
  doubleLock: string;
  releases: number;
  messagesDecrypted: number;
  findings: UnsealFinding[];
}

const iso = (t: number) => new Date(t).toISOString();

export function checkUnsealed(options: { commitment: string; warrant: Warrant; signed?: SignedWarrant; trust: TrustConfig | null; tally: Tally }): UnsealCheck {
  const { commitment, warrant: w, signed, trust, tally } = options;
  const entry = tally.warrants.find((e) => e.commitment === commitment);
  if (!entry) throw new Error(`commitment ${commitment} is not a warrant entry in the audited log`);
  const findings: UnsealFinding[] = [];
  if (entry.revision !== w.revision) findings.push({ leafIndex: entry.leafIndex, detail: `the log says revision ${entry.revision}, the warrant is revision ${w.revision}` });
  const issuedDay = iso(Math.floor(w.issuedAt / DAY_MS) * DAY_MS).slice(0, 10);
  if (entry.issuedDay !== issuedDay) findings.push({ leafIndex: entry.leafIndex, detail: `the log says issued on ${entry.issuedDay}, the warrant on ${issuedDay}` });

  // When it took effect: with the signatures, what warrantStatus says; otherwise at least not before issue and window.
  let from = Math.max(w.window.start, w.issuedAt);
  let doubleLock: string;
  if (!signed) doubleLock = 'not checked: the revealed file is the bare warrant, without its signatures';
  else if (!trust) doubleLock = 'not checked: no trust configuration (lawful access is off on this server)';
  else {
    const at = Math.max(from, signed.decision?.decidedAt ?? 0);
    const status = warrantStatus(signed, trust, at);
    if (status.inForce) {
      doubleLock = 'verified';
      from = status.from;
    } else {
      doubleLock = `FAILED (${status.problem})`;
      findings.push({ leafIndex: entry.leafIndex, detail: `the warrant was never in force under the trust configuration: ${status.problem}: ${status.detail}` });
    }
  }
  const erasedBy = trust ? w.window.end + (trust.epoch.retentionDays + 1) * DAY_MS : Number.POSITIVE_INFINITY;

  const releases = tally.releases.filter((r) => r.warrantCommitment === commitment);
  for (const r of releases) {
    const at = Date.parse(r.releasedAt);
    if (at < from) findings.push({ leafIndex: r.leafIndex, detail: `custodian ${r.custodian} released at ${r.releasedAt}, before the warrant was in force (${iso(from)})` });
    else if (at > erasedBy) findings.push({ leafIndex: r.leafIndex, detail: `custodian ${r.custodian} released at ${r.releasedAt}, after the window's epoch shares were due for erasure (${iso(erasedBy)})` });
  }
  const messagesDecrypted = tally.perWarrant.find((p) => p.commitment === commitment)?.messagesDecrypted ?? 0;
  if (messagesDecrypted > w.limits.maxMessages) findings.push({ leafIndex: null, detail: `${messagesDecrypted} messages decrypted, the warrant allows ${w.limits.maxMessages}` });
  if (messagesDecrypted > 0 && !w.products.includes('cc')) findings.push({ leafIndex: null, detail: `${messagesDecrypted} messages decrypted under a warrant that authorises no content (products: ${w.products.join(', ')})` });
  return { leafIndex: entry.leafIndex, doubleLock, releases: releases.length, messagesDecrypted, findings };
}
