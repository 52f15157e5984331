/**
 * Signals: what hashers produce and banks hold. A signal is a type and a canonical value; the matcher
 * compares signals only, never content, channels or users (Meta's Hasher-Matcher-Actioner split).
 */
import { normaliseExactHash } from './exact.ts';
import { PdqHash } from './pdqHash.ts';
import { parseUrlRule } from './url.ts';
import { parseTextRule } from './text/rules.ts';
import { parseVpdqSignal, formatVpdqSignal } from './vpdqFormat.ts';

/** `text`: a keyword or hashtag rule (text/rules.ts); the others are hashes of content and URL rules. */
export const SIGNAL_TYPES = ['pdq', 'md5', 'sha256', 'url', 'vpdq', 'text'] as const;
export type SignalType = (typeof SIGNAL_TYPES)[number];

export function isSignalType(t: string): t is SignalType {
  return (SIGNAL_TYPES as readonly string[]).includes(t);
}

/** Signal type names used by ThreatExchange, its CLI and HMA, mapped to ours. */
const FOREIGN_TYPES: Record<string, SignalType> = {
  pdq: 'pdq',
  hash_pdq: 'pdq',
  photo_pdq: 'pdq',
  vpdq: 'vpdq',
  video_vpdq: 'vpdq',
  md5: 'md5',
  hash_md5: 'md5',
  video_md5: 'md5',
  photo_md5: 'md5',
  sha256: 'sha256',
  hash_sha256: 'sha256',
  url: 'url',
  uri: 'url',
  text: 'text',
  raw_text: 'text',
  keyword: 'text',
};

/** Our type for a foreign type name (case-insensitive), or undefined when we do not handle it. */
export function signalTypeFromForeign(name: string): SignalType | undefined {
  return FOREIGN_TYPES[name.trim().toLowerCase()];
}

const CANONICAL_PDQ = /^[0-9a-f]{64}$/;

/** Canonical form of a value of the given type; throws TypeError with the reason when malformed. */
export function normaliseSignalValue(type: SignalType, value: string): string {
  if (typeof value !== 'string') throw new TypeError(`a ${type} value must be a string`);
  switch (type) {
    case 'pdq':
      // already canonical (lower-case hex, what every bank and feed carries): no round trip through bytes
      return CANONICAL_PDQ.test(value) ? value : PdqHash.fromHex(value.trim()).toHex();
    case 'md5':
    case 'sha256':
      return normaliseExactHash(type, value);
    case 'url':
      return parseUrlRule(value).value;
    case 'vpdq':
      return formatVpdqSignal(parseVpdqSignal(value));
    case 'text':
      return parseTextRule(value).value;
  }
}
