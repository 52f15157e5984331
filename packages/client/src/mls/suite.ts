/**
 * The SDK's one ts-mls setup (RFC 9420): the cipher suite, the client configuration (key retention,
 * our authentication service — never ts-mls's accept-everything default) and the crypto provider.
 */
import {
  defaultKeyPackageEqualityConfig,
  defaultLifetimeConfig,
  defaultPaddingConfig,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  type AuthenticationService,
  type CiphersuiteImpl,
  type CiphersuiteName,
  type ClientConfig,
  type CryptoProvider,
  type KeyRetentionConfig,
} from 'ts-mls';
import { fastCryptoProvider } from './cryptoProvider.ts';

/**
 * RFC 9420 §17.1 suite 0x0003: X25519, ChaCha20-Poly1305, SHA-256, Ed25519 (device keys are Ed25519 too).
 * Same security level as 0x0001 (AES-128-GCM); chosen because every message runs the AEAD twice (content
 * and sender data, §6.3) under a fresh key, and in pure TypeScript AES-GCM's per-key set-up (key schedule,
 * GHASH tables) costs far more than ChaCha20-Poly1305 (`npm run bench:client`).
 */
export const CIPHERSUITE: CiphersuiteName = 'MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519';

/**
 * ts-mls keeps 10 past generations and 4 past epochs by default. The server orders each group, but a
 * device may still open messages late (a slow push racing a fetch, a restore from backup): we keep
 * more, bounded so a malicious sender cannot make us ratchet forever (RFC 9420 §9.2, §15.3).
 */
export const KEY_RETENTION: KeyRetentionConfig = {
  retainKeysForGenerations: 1000,
  retainKeysForEpochs: 16,
  maximumForwardRatchetSteps: 10_000,
};

export function clientConfig(authService: AuthenticationService): ClientConfig {
  return {
    keyRetentionConfig: KEY_RETENTION,
    lifetimeConfig: defaultLifetimeConfig,
    keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
    paddingConfig: defaultPaddingConfig,
    authService,
  };
}

const impls = new Map<CryptoProvider, Map<CiphersuiteName, Promise<CiphersuiteImpl>>>();

/**
 * The suite implementation; `provider` defaults to ours (the benchmark compares it with ts-mls's), `suite`
 * to the SDK's (the MLS test vectors also run other suites through it).
 */
export function suiteImpl(provider: CryptoProvider = fastCryptoProvider, suite: CiphersuiteName = CIPHERSUITE): Promise<CiphersuiteImpl> {
  let bySuite = impls.get(provider);
  if (!bySuite) impls.set(provider, (bySuite = new Map()));
  let impl = bySuite.get(suite);
  if (!impl) {
    impl = getCiphersuiteImpl(getCiphersuiteFromName(suite), provider);
    bySuite.set(suite, impl);
  }
  return impl;
}
