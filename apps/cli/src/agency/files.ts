/** The agency's files: its signing key, and what it keeps of each warrant it submitted. */
import { fromBase64Url, toBase64Url } from '@doublelock/protocol';
import { readFileSync, writeFileSync } from 'node:fs';
import { inclusionSchema } from '@doublelock/lawful-access';
import { z } from 'zod';

export const agencyKeyFile = z.object({ id: z.string().min(1), secretKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/) });
/** Written by `agency submit`: the commitment nonce must be kept to open the log commitment later (unsealing). */
/**
 * What `agency submit` keeps. `inclusion` is the warrant's proof at the first witnessed checkpoint that
 * holds it: custodians start the warrant's window at that checkpoint's witnessed time (a later checkpoint
 * would start it later), so it is kept from the start.
 */
export const submissionFile = z.object({ warrantId: z.string(), commitmentNonce: z.string(), commitment: z.string(), leafIndex: z.number().int(), inclusion: inclusionSchema.optional() });
export type SubmissionFile = z.infer<typeof submissionFile>;

export function readJson<T>(path: string, schema: z.ZodType<T>, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read ${what} from ${path}: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new Error(`${path} is not a valid ${what}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

export function readAgencyKey(path: string): { id: string; secretKey: Uint8Array } {
  const key = readJson(path, agencyKeyFile, 'agency key file');
  return { id: key.id, secretKey: fromBase64Url(key.secretKey) };
}

export function writeJson(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
}

export const b64 = toBase64Url;
