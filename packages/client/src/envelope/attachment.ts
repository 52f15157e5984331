/**
 * Attachments: the file is sealed client-side under a fresh random key with the key-committing AEAD,
 * uploaded as a blob addressed by the SHA-256 of the sealed bytes; key, blob hash and the plaintext's
 * SHA-256 travel inside the (end-to-end encrypted) message, and all three are checked on download.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { KEY_BYTES, open, seal } from './committingAead.ts';

const AAD = new TextEncoder().encode('doublelock/attachment/v1');

export interface AttachmentSecret {
  /** SHA-256 (hex) of the sealed blob: its address on the server. */
  blob: string;
  key: Uint8Array;
  /** SHA-256 (hex) of the plaintext. */
  sha256: string;
  size: number;
}

export class AttachmentRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AttachmentRejected';
  }
}

export function sealAttachment(plaintext: Uint8Array): { sealed: Uint8Array; secret: AttachmentSecret } {
  const key = randomBytes(KEY_BYTES);
  const sealed = seal(key, plaintext, AAD);
  return { sealed, secret: { blob: bytesToHex(sha256(sealed)), key, sha256: bytesToHex(sha256(plaintext)), size: plaintext.length } };
}

export function openAttachment(sealed: Uint8Array, secret: AttachmentSecret): Uint8Array {
  if (bytesToHex(sha256(sealed)) !== secret.blob) throw new AttachmentRejected('the downloaded blob does not have the hash named in the message');
  let plaintext: Uint8Array;
  try {
    plaintext = open(secret.key, sealed, AAD);
  } catch (error) {
    throw new AttachmentRejected(`the attachment does not decrypt: ${(error as Error).message}`);
  }
  if (plaintext.length !== secret.size || bytesToHex(sha256(plaintext)) !== secret.sha256) throw new AttachmentRejected('the decrypted attachment does not match its hash');
  return plaintext;
}
