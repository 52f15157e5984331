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

/** RFC 9420 §17.1 suite 0x0001: X25519, AES-128-GCM, SHA-256, Ed25519 (device keys are Ed25519 too). */
export const CIPHERSUITE: CiphersuiteName = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519';

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

const impls = new Map<CryptoProvider, Promise<CiphersuiteImpl>>();

/** The suite implementation; `provider` defaults to ours (the benchmark compares it with ts-mls's). */
export function suiteImpl(provider: CryptoProvider = fastCryptoProvider): Promise<CiphersuiteImpl> {
  let impl = impls.get(provider);
  if (!impl) {
    impl = getCiphersuiteImpl(getCiphersuiteFromName(CIPHERSUITE), provider);
    impls.set(provider, impl);
  }
  return impl;
}
