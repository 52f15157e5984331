/**
 * A custodian's own key material, kept in its data folder (mode 0600): the static ristretto255 key
 * (d_i: DKG share encryption and transcript signatures, per COCKTAIL-DKG) and a separate Ed25519 key
 * that signs its release records. Epoch shares live in its database and are erased on schedule.
 */
import { fromBase64Url, toBase64Url } from '@doublelock/protocol';
import { generateSigningKey, generateStaticKey, staticPublicKey } from '@doublelock/lawful-access';
import { ed25519 } from '@noble/curves/ed25519.js';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CustodianSecrets {
  staticSecret: Uint8Array;
  signingSecret: Uint8Array;
}

export interface CustodianPublicKeys {
  staticKey: string;
  signingKey: string;
}

export const KEY_FILE = 'custodian-keys.json';

export function publicKeysOf(secrets: CustodianSecrets): CustodianPublicKeys {
  return { staticKey: toBase64Url(staticPublicKey(secrets.staticSecret)), signingKey: toBase64Url(ed25519.getPublicKey(secrets.signingSecret)) };
}

export function writeCustodianKeys(dataDir: string, secrets: CustodianSecrets): void {
  mkdirSync(dataDir, { recursive: true });
  const body = { staticSecret: toBase64Url(secrets.staticSecret), signingSecret: toBase64Url(secrets.signingSecret) };
  writeFileSync(join(dataDir, KEY_FILE), JSON.stringify(body, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
}

export function readCustodianKeys(dataDir: string): CustodianSecrets {
  const path = join(dataDir, KEY_FILE);
  if (!existsSync(path)) throw new Error(`no custodian keys at ${path}: run \`doublelock custodian init --data ${dataDir}\` first`);
  const body = JSON.parse(readFileSync(path, 'utf8')) as { staticSecret?: string; signingSecret?: string };
  if (typeof body.staticSecret !== 'string' || typeof body.signingSecret !== 'string') throw new Error(`${path} is not a custodian key file`);
  const secrets = { staticSecret: fromBase64Url(body.staticSecret), signingSecret: fromBase64Url(body.signingSecret) };
  staticPublicKey(secrets.staticSecret);
  if (secrets.signingSecret.length !== 32) throw new Error(`${path}: signing key must be 32 bytes`);
  return secrets;
}

/** Creates keys on first use; never overwrites existing ones. */
export function initCustodianKeys(dataDir: string): { secrets: CustodianSecrets; created: boolean } {
  if (existsSync(join(dataDir, KEY_FILE))) return { secrets: readCustodianKeys(dataDir), created: false };
  const secrets = { staticSecret: generateStaticKey().secret, signingSecret: generateSigningKey().secretKey };
  writeCustodianKeys(dataDir, secrets);
  return { secrets, created: true };
}
