/**
 * The signed trust configuration that the provider, the agency and every custodian pin: who may issue
 * warrants (Secretary of State keys), who may approve them (Judicial Commissioners), which agencies may
 * request shares, which key signs the provider's delivery records, who the custodians are (static DKG
 * keys and Ed25519 signing keys), the threshold, the transparency log's keys and witness quorum, the
 * epoch length and retention, who may coordinate the key ceremony, and the bank holidays working days are
 * counted against. It is signed by a
 * trust-root Ed25519 key whose public half is distributed out of band; nothing unsigned is trusted.
 */
import { fromBase64Url } from '@doublelock/protocol';
import { z } from 'zod';
import { decodePoint } from './group.ts';
import { signDocument, verifyDocument } from './signature.ts';
import { type WorkingDayCalendar, UK_CALENDAR } from './workingDays.ts';

export const TRUST_CONFIG_LABEL = 'doublelock/lawful-access/trust-config/v1';

const b64 = z.string().regex(/^[A-Za-z0-9_-]+$/, 'base64url');
const ed25519Key = b64.refine((s) => fromBase64Url(s).length === 32, 'an Ed25519 public key is 32 bytes');
const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'identifier: letters, digits, . _ : -, at most 64');
const keyRef = z.object({ id: name, publicKey: ed25519Key });

export const trustConfigSchema = z
  .object({
    version: z.literal(1),
    deployment: name,
    issuedAt: z.number().int().nonnegative(),
    secretaryOfState: z.array(keyRef).min(1),
    judicialCommissioners: z.array(keyRef).min(1),
    agencies: z.array(keyRef).min(1),
    provider: z.array(keyRef).min(1),
    /** who may coordinate the custodians' key ceremony (ceremony.ts): custodians refuse anyone else's rounds */
    coordinators: z.array(keyRef).min(1),
    custodians: z
      .array(
        z.object({
          index: z.number().int().min(1).max(255),
          name,
          url: z.string().url(),
          staticKey: b64.refine((s) => {
            try {
              decodePoint(fromBase64Url(s));
              return true;
            } catch {
              return false;
            }
          }, 'a ristretto255 public key'),
          signingKey: ed25519Key,
        }),
      )
      .min(1),
    threshold: z.number().int().min(1),
    // At least one witness: with a quorum of 0 a log could show each custodian its own history (split view).
    log: z.object({ verifierKey: z.string().min(1), witnesses: z.array(z.string().min(1)).min(1), witnessQuorum: z.number().int().min(1, 'a witness quorum of at least 1 (0 would let the log fork unseen)') }),
    epoch: z.object({ lengthMs: z.number().int().positive(), retentionDays: z.number().int().min(1).max(366) }),
    /** one-off non-working days added to the jurisdiction's rule-based bank holidays (workingDays.ts) */
    bankHolidays: z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/)),
    /** where working days are counted; absent means the UK (Europe/London, bank holidays of every UK part) */
    jurisdiction: z
      .object({ timeZone: z.string().refine(isTimeZone, 'an IANA time zone'), regions: z.array(z.string().regex(/^[A-Z]{2}(-[A-Z0-9]{1,3})?$/)).min(1) })
      .optional(),
  })
  .superRefine((c, ctx) => {
    c.custodians.forEach((k, i) => {
      if (k.index !== i + 1) ctx.addIssue({ code: 'custom', message: `custodian at position ${i} must have index ${i + 1}` });
    });
    if (c.threshold > c.custodians.length) ctx.addIssue({ code: 'custom', message: 'threshold exceeds the number of custodians' });
    if (c.log.witnessQuorum > c.log.witnesses.length) ctx.addIssue({ code: 'custom', message: 'witness quorum exceeds the number of witnesses' });
    const roles = [c.secretaryOfState, c.judicialCommissioners, c.agencies, c.provider, c.coordinators].flat().map((k) => k.publicKey);
    // The double lock means nothing if one key could act in two roles.
    if (new Set(roles).size !== roles.length) ctx.addIssue({ code: 'custom', message: 'a key may hold only one role' });
  });

export type TrustConfig = z.infer<typeof trustConfigSchema>;

/** An IANA zone name the runtime knows (Intl throws RangeError for any other); what workingDays.ts counts in. */
function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export type KeyRef = z.infer<typeof keyRef>;

export const signedTrustConfigSchema = z.object({ config: trustConfigSchema, signature: b64 });
export type SignedTrustConfig = z.infer<typeof signedTrustConfigSchema>;

export function signTrustConfig(config: TrustConfig, rootSecretKey: Uint8Array): SignedTrustConfig {
  const parsed = trustConfigSchema.parse(config);
  return { config: parsed, signature: signDocument(TRUST_CONFIG_LABEL, parsed, rootSecretKey) };
}

/** Parses and verifies against the pinned root key; throws with the reason otherwise. */
export function openTrustConfig(signed: unknown, pinnedRootKey: string | Uint8Array): TrustConfig {
  const parsed = signedTrustConfigSchema.safeParse(signed);
  if (!parsed.success) throw new Error(`malformed trust configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  if (!verifyDocument(TRUST_CONFIG_LABEL, parsed.data.config, parsed.data.signature, pinnedRootKey)) throw new Error('trust configuration signature does not verify under the pinned root key');
  return parsed.data.config;
}

export const findKey = (keys: readonly KeyRef[], id: string): KeyRef | undefined => keys.find((k) => k.id === id);
export const custodianStaticKeys = (c: TrustConfig): Uint8Array[] => c.custodians.map((k) => fromBase64Url(k.staticKey));

/** The working-day calendar warrants are counted in under this configuration (IPA s.263). */
export const calendarOf = (c: TrustConfig): WorkingDayCalendar =>
  c.jurisdiction ? { timeZone: c.jurisdiction.timeZone, regions: c.jurisdiction.regions, extraHolidays: c.bankHolidays } : { ...UK_CALENDAR, extraHolidays: c.bankHolidays };
