/**
 * Evidence preservation (TCO Regulation (EU) 2021/784 Art. 6): terrorist content that is removed or
 * disabled, and its metadata, are kept for six months from the removal, longer when an authority asks
 * (Art. 6(2)), readable only by the legal role, and purged when the period ends.
 *
 * At rest each item is sealed with XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03; @noble/ciphers) under
 * the deployment's evidence key, which lives outside the database, with a fresh 24-byte nonce and the
 * item's identity (case, content, time) as associated data, so a sealed item cannot be moved onto another
 * case's row. A purge deletes the ciphertext and nonce; the row stays as the record that it existed.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { DomainError, ErrorCode, toBase64Url, utf8 } from '@doublelock/protocol';
import type { SqlRunner } from '@doublelock/store';
import { asBytes } from '@doublelock/store';
import type { CaseRecord } from './caseRecord.ts';
import { refKey, type ContentRef, type EvidenceMaterial } from './content.ts';
import { announce, recordEvent, type CaseEvent, type CasesContext } from './context.ts';
import { addMonths } from './legalBasis.ts';

export const PRESERVATION_MONTHS = 6;
const AAD_LABEL = 'doublelock/cases/evidence/v1';

const aad = (caseId: number, ref: ContentRef, preservedAt: number) => utf8(`${AAD_LABEL}|case:${caseId}|${refKey(ref)}|${preservedAt}`);

export interface EvidenceItem {
  id: number;
  caseId: number;
  decisionId: number | null;
  content: ContentRef;
  preservedAt: number;
  expiresAt: number;
  extendedBy: string | null;
  purgedAt: number | null;
}

interface EvidenceRow {
  id: number;
  case_id: number;
  decision_id: number | null;
  content_kind: string;
  content_id: string;
  preserved_at: number;
  expires_at: number;
  extended_by: string | null;
  nonce: Uint8Array | null;
  ciphertext: Uint8Array | null;
  purged_at: number | null;
}

const fromRow = (r: EvidenceRow): EvidenceItem => ({
  id: Number(r.id),
  caseId: Number(r.case_id),
  decisionId: r.decision_id === null ? null : Number(r.decision_id),
  content: { kind: r.content_kind as ContentRef['kind'], id: r.content_id },
  preservedAt: Number(r.preserved_at),
  expiresAt: Number(r.expires_at),
  extendedBy: r.extended_by,
  purgedAt: r.purged_at === null ? null : Number(r.purged_at),
});

function seal(key: Uint8Array, material: EvidenceMaterial, associated: Uint8Array): { nonce: Uint8Array; ciphertext: Uint8Array } {
  const plaintext = utf8(JSON.stringify({ metadata: material.metadata, files: material.files.map((f) => ({ name: f.name, type: f.type, bytes: toBase64Url(f.bytes) })) }));
  const nonce = randomBytes(24);
  return { nonce, ciphertext: xchacha20poly1305(key, nonce, associated).encrypt(plaintext) };
}

/** Preserves the content of a case once per decision (a retried apply finds the first copy). */
export async function preserveEvidence(ctx: CasesContext, c: CaseRecord, decisionId: number, ref: ContentRef): Promise<number | undefined> {
  const existing = await ctx.db.get<{ id: number }>('SELECT id FROM case_evidence WHERE decision_id = ?', [decisionId]);
  if (existing) return Number(existing.id);
  const material = await ctx.content.evidence(ref);
  if (!material) return undefined;
  const now = ctx.now();
  const { nonce, ciphertext } = seal(ctx.config.evidenceKey, { ...material, metadata: { ...material.metadata, caseId: c.id, url: c.url, owner: c.owner, decisionId } }, aad(c.id, ref, now));
  const events: CaseEvent[] = [];
  const id = await ctx.db.transaction(async (tx) => {
    const row = await tx.get<{ id: number }>(
      'INSERT INTO case_evidence (case_id, decision_id, content_kind, content_id, preserved_at, expires_at, nonce, ciphertext) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id',
      [c.id, decisionId, ref.kind, ref.id, now, addMonths(now, PRESERVATION_MONTHS), nonce, ciphertext],
    );
    events.push(await recordEvent(tx, { caseId: c.id, appealId: null, at: now, actor: 'system:evidence', event: 'evidence_preserved', detail: { evidenceId: Number(row!.id), until: addMonths(now, PRESERVATION_MONTHS) } }));
    return Number(row!.id);
  });
  announce(ctx, events);
  return id;
}

export async function listEvidence(ctx: CasesContext, filter: { caseId?: number } = {}): Promise<EvidenceItem[]> {
  const rows = filter.caseId !== undefined
    ? await ctx.db.all<EvidenceRow>('SELECT * FROM case_evidence WHERE case_id = ? ORDER BY id', [filter.caseId])
    : await ctx.db.all<EvidenceRow>('SELECT * FROM case_evidence ORDER BY id DESC LIMIT 500');
  return rows.map(fromRow);
}

/** Opens one item for the legal role; the reading is itself recorded. */
export async function readEvidence(ctx: CasesContext, id: number, reader: string): Promise<EvidenceItem & { material: { metadata: Record<string, unknown>; files: Array<{ name: string; type: string; bytes: string }> } }> {
  const row = await ctx.db.get<EvidenceRow>('SELECT * FROM case_evidence WHERE id = ?', [id]);
  if (!row) throw new DomainError(ErrorCode.notFound, `No evidence ${id}.`);
  const item = fromRow(row);
  if (item.purgedAt !== null || !row.ciphertext || !row.nonce) throw new DomainError(ErrorCode.notFound, `Evidence ${id} was purged on ${new Date(item.purgedAt ?? 0).toISOString()} at the end of its preservation period.`);
  const plaintext = xchacha20poly1305(ctx.config.evidenceKey, asBytes(row.nonce), aad(item.caseId, item.content, item.preservedAt)).decrypt(asBytes(row.ciphertext));
  const event = await recordEvent(ctx.db, { caseId: item.caseId, appealId: null, at: ctx.now(), actor: reader, event: 'evidence_read', detail: { evidenceId: id } });
  announce(ctx, [event]);
  return { ...item, material: JSON.parse(new TextDecoder().decode(plaintext)) };
}

/** TCO Art. 6(2): an authority asks for longer preservation of what its order removed. */
export async function extendPreservation(ctx: CasesContext, authorityId: string, reference: string, months: number, reasons: string): Promise<EvidenceItem[]> {
  const now = ctx.now();
  const events: CaseEvent[] = [];
  const items = await ctx.db.transaction(async (tx) => {
    const order = await tx.get<{ id: number }>('SELECT id FROM removal_orders WHERE authority_id = ? AND reference = ?', [authorityId, reference]);
    if (!order) throw new DomainError(ErrorCode.notFound, `No removal order "${reference}" from this authority.`);
    const rows = await tx.all<EvidenceRow>('SELECT e.* FROM case_evidence e JOIN cases c ON c.id = e.case_id WHERE c.order_id = ? AND e.purged_at IS NULL ORDER BY e.id', [order.id]);
    for (const r of rows) {
      const until = addMonths(Number(r.expires_at), months);
      await tx.run('UPDATE case_evidence SET expires_at = ?, extended_by = ? WHERE id = ?', [until, `authority:${authorityId}:${reference}`, r.id]);
      events.push(await recordEvent(tx, { caseId: Number(r.case_id), appealId: null, at: now, actor: `authority:${authorityId}`, event: 'preservation_extended', detail: { evidenceId: Number(r.id), until, reasons } }));
    }
    return (await tx.all<EvidenceRow>('SELECT e.* FROM case_evidence e JOIN cases c ON c.id = e.case_id WHERE c.order_id = ? ORDER BY e.id', [order.id])).map(fromRow);
  });
  announce(ctx, events);
  return items;
}

/** Purges every item whose period has ended: ciphertext and nonce are deleted, the record stays. */
export async function purgeExpiredEvidence(ctx: CasesContext): Promise<number[]> {
  const now = ctx.now();
  const events: CaseEvent[] = [];
  const purged = await ctx.db.transaction(async (tx: SqlRunner) => {
    const due = await tx.all<{ id: number; case_id: number }>('SELECT id, case_id FROM case_evidence WHERE purged_at IS NULL AND expires_at <= ? ORDER BY id', [now]);
    for (const r of due) {
      await tx.run('UPDATE case_evidence SET ciphertext = NULL, nonce = NULL, purged_at = ? WHERE id = ?', [now, r.id]);
      events.push(await recordEvent(tx, { caseId: Number(r.case_id), appealId: null, at: now, actor: 'system:evidence', event: 'evidence_purged', detail: { evidenceId: Number(r.id) } }));
    }
    return due.map((r) => Number(r.id));
  });
  announce(ctx, events);
  return purged;
}
