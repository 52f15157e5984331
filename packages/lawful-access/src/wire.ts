/**
 * JSON forms of the DKG messages and epoch certificates exchanged with custodians over HTTP: every byte
 * string is base64url (the protocol's only byte encoding). Parsing validates lengths; the cryptographic
 * checks happen in dkg.ts.
 */
import { fromBase64Url, toBase64Url } from '@doublelock/protocol';
import { z } from 'zod';
import type { EpochCertificate, Round1Message } from './dkg.ts';

const b64 = z.string().regex(/^[A-Za-z0-9_-]*$/, 'base64url');
const point = z.string().regex(/^[A-Za-z0-9_-]{43}$/, '32-byte base64url');
const sig64 = z.string().regex(/^[A-Za-z0-9_-]{86}$/, '64-byte base64url');

export const round1MessageJson = z.object({
  index: z.number().int().min(1).max(255),
  commitment: z.array(point).min(1).max(255),
  pop: sig64,
  ephemeral: point,
  encryptedShares: z.array(b64).min(1).max(255),
});
export type Round1MessageJson = z.infer<typeof round1MessageJson>;

export const epochCertificateJson = z.object({
  deployment: z.string(),
  epoch: z.number().int().nonnegative(),
  threshold: z.number().int().min(1),
  staticKeys: z.array(point),
  commitments: z.array(z.array(point)),
  pops: z.array(sig64),
  ephemerals: z.array(point),
  signatures: z.array(sig64),
  /** empty until the ceremony completed at every custodian */
  completions: z.array(sig64).max(255).default([]),
});
export type EpochCertificateJson = z.infer<typeof epochCertificateJson>;

const enc = (bytes: readonly Uint8Array[]) => bytes.map(toBase64Url);
const dec = (texts: readonly string[]) => texts.map(fromBase64Url);

export const round1ToJson = (m: Round1Message): Round1MessageJson => ({
  index: m.index,
  commitment: enc(m.commitment),
  pop: toBase64Url(m.pop),
  ephemeral: toBase64Url(m.ephemeral),
  encryptedShares: enc(m.encryptedShares),
});

export const round1FromJson = (j: Round1MessageJson): Round1Message => ({
  index: j.index,
  commitment: dec(j.commitment),
  pop: fromBase64Url(j.pop),
  ephemeral: fromBase64Url(j.ephemeral),
  encryptedShares: dec(j.encryptedShares),
});

export const certificateToJson = (c: EpochCertificate): EpochCertificateJson => ({
  deployment: c.deployment,
  epoch: c.epoch,
  threshold: c.threshold,
  staticKeys: enc(c.staticKeys),
  commitments: c.commitments.map(enc),
  pops: enc(c.pops),
  ephemerals: enc(c.ephemerals),
  signatures: enc(c.signatures),
  completions: enc(c.completions),
});

export const certificateFromJson = (j: EpochCertificateJson): EpochCertificate => ({
  deployment: j.deployment,
  epoch: j.epoch,
  threshold: j.threshold,
  staticKeys: dec(j.staticKeys),
  commitments: j.commitments.map(dec),
  pops: dec(j.pops),
  ephemerals: dec(j.ephemerals),
  signatures: dec(j.signatures),
  completions: dec(j.completions),
});
