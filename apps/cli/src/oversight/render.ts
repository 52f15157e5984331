/** The oversight report as text for people, and as one JSON document for machines. */
import { toHex } from '@doublelock/log/verifier';
import type { OversightAudit } from './audit.ts';

export const REPORT_FORMAT = 'doublelock/oversight-report/v1';

export function reportDocument(audit: OversightAudit) {
  const { checkpoint, tally } = audit;
  // `config` stays out: the report is about the log; the configuration is public at /v1/lawful-access.
  return {
    format: REPORT_FORMAT,
    log: { origin: checkpoint.origin, size: checkpoint.size, rootHash: toHex(checkpoint.rootHash), consistentWith: audit.consistentWith },
    trust: audit.trust,
    ...tally,
    ...(audit.unlogged && { unloggedReleases: audit.unlogged, custodianErrors: audit.custodianErrors }),
  };
}

function table(header: string[], rows: Array<Array<string | number>>): string[] {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

const short = (b64: string) => `${b64.slice(0, 12)}…`;

export function renderText(audit: OversightAudit): string {
  const { checkpoint, tally, trust } = audit;
  const out: string[] = [];
  const since = audit.consistentWith === null ? '' : `; consistent with size ${audit.consistentWith} seen before`;
  out.push(`audit OK: ${checkpoint.origin}: ${checkpoint.size} entries hash to the signed root ${toHex(checkpoint.rootHash)}${since}`);
  const e = tally.entries;
  out.push(`entries: ${e.directory} directory, ${e.warrant} warrant, ${e.release} release, ${e.unsealing} unsealing, ${e.otherLawfulAccess} other lawful-access, ${e.unrecognised} unrecognised, ${e.malformed} malformed`);
  if (trust) {
    const pin = trust.pinned ? 'signature verified under the trust root' : 'NOT PINNED: no --trust-root given, its signature was not checked';
    out.push(`trust configuration: ${trust.deployment}, ${trust.threshold} of ${trust.custodians.length} custodians (${pin})`);
  } else {
    out.push('lawful access is off on this server: no trust configuration, releases cannot be verified');
  }

  out.push('', `Warrants (${tally.warrants.length})`);
  if (tally.warrants.length === 0) out.push('  none');
  else out.push(...table(['leaf', 'revision', 'issued', 'unseal by', 'commitment'], tally.warrants.map((w) => [w.leafIndex, w.revision, w.issuedDay, w.unsealBy ?? '-', w.commitment])).map((l) => `  ${l}`));

  const { unsealings } = tally;
  out.push('', `Unsealing (as of ${unsealings.asOf})`);
  if (unsealings.opened.length === 0) out.push('  no warrant unsealed yet');
  else out.push(...table(['leaf', 'warrant', 'revision', 'commitment'], unsealings.opened.map((o) => [o.leafIndex, o.warrantId, o.revision, short(o.commitment)])).map((l) => `  ${l}`));
  if (unsealings.overdue.length > 0) {
    out.push(`  OVERDUE UNSEALINGS (${unsealings.overdue.length}):`);
    out.push(...table(['leaf', 'revision', 'unseal by', 'days overdue', 'commitment'], unsealings.overdue.map((o) => [o.leafIndex, o.revision, new Date(o.unsealBy).toISOString().slice(0, 10), o.daysOverdue, o.commitment])).map((l) => `  ${l}`));
  }

  out.push('', `Releases (${tally.releases.length}, signatures verified)`);
  if (tally.releases.length === 0) out.push('  none');
  else
    out.push(
      ...table(
        ['leaf', 'custodian', 'released', 'warrant', 'message'],
        tally.releases.map((r) => [r.leafIndex, r.custodian, r.releasedAt, short(r.warrantCommitment), short(r.messageDigest)]),
      ).map((l) => `  ${l}`),
    );

  out.push('', `Per warrant (a message is decrypted once ${tally.threshold ?? '?'} distinct custodians released for it)`);
  if (tally.perWarrant.length === 0) out.push('  none');
  else
    out.push(
      ...table(
        ['leaf', 'issued', 'commitment', 'releases', 'messages', 'decrypted'],
        tally.perWarrant.map((w) => [w.leafIndex ?? 'UNLOGGED', w.issuedDay ?? '-', short(w.commitment), w.releases, w.messagesWithReleases, w.messagesDecrypted]),
      ).map((l) => `  ${l}`),
    );

  out.push('', 'Per month (UTC)');
  if (tally.months.length === 0) out.push('  none');
  else
    out.push(
      ...table(
        ['month', 'warrants issued', 'modified', 'messages decrypted'],
        [...tally.months.map((m) => [m.month, m.warrantsIssued, m.warrantsModified, m.messagesDecrypted]), ['total', tally.totals.warrantsIssued, tally.totals.warrantsModified, tally.totals.messagesDecrypted]],
      ).map((l) => `  ${l}`),
    );

  if (audit.unlogged) {
    out.push('', "Custodians' own releases against the log");
    for (const e of audit.custodianErrors) out.push(`  could not ask ${e}`);
    if (audit.unlogged.length === 0) out.push('  every release the custodians report is in the log');
    else {
      out.push(`  RELEASES MISSING FROM THE LOG (${audit.unlogged.length}):`);
      out.push(...table(['custodian', 'released', 'warrant', 'message', 'request'], audit.unlogged.map((r) => [r.custodian, r.releasedAt, short(r.warrantCommitment), short(r.messageDigest), r.requestId])).map((l) => `  ${l}`));
    }
  }

  out.push('');
  if (tally.problems.length === 0) out.push('No problems: every lawful-access entry is well formed and every release record verifies.');
  else {
    out.push(`PROBLEMS (${tally.problems.length}):`);
    for (const p of tally.problems) out.push(`  leaf ${p.leafIndex}: ${p.kind}: ${p.detail}`);
  }
  return `${out.join('\n')}\n`;
}
