/**
 * Signed notes against the Go reference implementation's published example (golang.org/x/mod/sumdb/note
 * note_test.go: the PeterNeumann key pair and signed note), the C2SP tlog-cosignature example line, and
 * the rejection rules of C2SP signed-note.
 */
import { describe, expect, it } from 'vitest';
import { assembleNote, checkpointText, CosignatureSigner, generateSignerKey, NoteSigner, parseSignerKey } from '../src/index.ts';
import {
  fromBase64,
  NoteError,
  openCheckpoint,
  openNote,
  parseNote,
  parseSignatureLine,
  parseVerifierKey,
  requireWitnesses,
  SIGNATURE_COSIGNATURE_V1,
} from '../src/verifier/index.ts';

const VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const SIG_LINE = '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=';
const NOTE = `${TEXT}\n${SIG_LINE}\n`;

describe('C2SP signed-note', () => {
  it('reproduces the Go reference note byte for byte and derives its verifier key', () => {
    const signer = new NoteSigner(SKEY);
    expect(signer.verifierKey).toBe(VKEY);
    expect(assembleNote(TEXT, [signer.sign(TEXT)])).toBe(NOTE);
    expect(parseVerifierKey(VKEY).keyId).toBe(0xc74f20a3);
  });

  it('opens the reference note and rejects any change to its text or signature', () => {
    expect(openNote(NOTE, [VKEY]).text).toBe(TEXT);
    expect(() => openNote(NOTE.replace('cryptography', 'cryptographY'), [VKEY])).toThrow(NoteError);
    expect(() => openNote(NOTE.replace('x08go', 'x08gO'), [VKEY])).toThrow(NoteError);
  });

  it('ignores unknown keys but rejects a note no known key signed', () => {
    const other = new NoteSigner(generateSignerKey('other.example'));
    const both = assembleNote(TEXT, [SIG_LINE, other.sign(TEXT)]);
    expect(openNote(both, [VKEY]).verified.map((v) => v.name)).toEqual(['PeterNeumann']);
    expect(() => openNote(NOTE, [other.verifierKey])).toThrow(/not signed by any known key/);
  });

  it('rejects malformed verifier keys, signer keys and notes', () => {
    for (const bad of [
      'PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', // wrong key ID
      'PeterNeumann+c74f20a3+AhpjZHZF', // unknown type, short
      'Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', // space in name
      'PeterNeumann+c74f20a3',
      'PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
    ]) expect(() => parseVerifierKey(bad), bad).toThrow(NoteError);
    expect(() => parseSignerKey(SKEY.replace('c74f20a3', '00000000'))).toThrow(NoteError);
    expect(() => parseNote(TEXT)).toThrow(/blank line/);
    expect(() => parseNote(`${TEXT}\n${SIG_LINE}`)).toThrow(/newline/);
    expect(() => parseNote(`${TEXT}\n-- PeterNeumann AAAAAAA=\n`)).toThrow(/em dash/);
    expect(() => parseNote(`${TEXT}\tx\n\n${SIG_LINE}\n`)).toThrow(/control/);
    expect(() => parseNote(`${TEXT}\n${`${SIG_LINE}\n`.repeat(101)}`)).toThrow(/more than 100/);
  });
});

describe('C2SP tlog-cosignature (cosignature/v1)', () => {
  it('decodes the specification example: key ID, then the big-endian timestamp 1679315147', () => {
    const line = parseSignatureLine('— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==');
    expect(line.signature.length).toBe(72);
    expect(new DataView(line.signature.buffer, line.signature.byteOffset).getBigUint64(0)).toBe(1679315147n);
  });

  it('cosigns the checkpoint text with a timestamp that clients can require', () => {
    const log = new NoteSigner(generateSignerKey('example.com/log'));
    const text = checkpointText('example.com/log', 5, new Uint8Array(32).fill(7));
    const note = assembleNote(text, [log.sign(text)]);
    const w1 = new CosignatureSigner(generateSignerKey('w1.example', SIGNATURE_COSIGNATURE_V1));
    const w2 = new CosignatureSigner(generateSignerKey('w2.example', SIGNATURE_COSIGNATURE_V1));
    const w3 = new CosignatureSigner(generateSignerKey('w3.example', SIGNATURE_COSIGNATURE_V1));
    expect(parseVerifierKey(w1.verifierKey).type).toBe(0x04);
    const cosigned = `${note}${w1.cosign(text, 1700000000n)}\n${w2.cosign(text)}\n`;
    expect(openCheckpoint(cosigned, log.verifierKey).size).toBe(5);
    const found = requireWitnesses(cosigned, [w1.verifierKey, w2.verifierKey, w3.verifierKey], 2);
    expect(found.map((w) => w.name)).toEqual(['w1.example', 'w2.example']);
    expect(found[0]!.timestamp).toBe(1700000000n);
    expect(() => requireWitnesses(cosigned, [w1.verifierKey, w2.verifierKey, w3.verifierKey], 3)).toThrow(/2 valid witness/);
    // A cosignature over another checkpoint (here: another size) is rejected, not just ignored.
    const otherText = checkpointText('example.com/log', 6, new Uint8Array(32).fill(7));
    const forged = `${note}${w1.cosign(otherText)}\n`;
    expect(() => requireWitnesses(forged, [w1.verifierKey], 1)).toThrow(/does not verify/);
    // A log key is not a witness key.
    expect(() => requireWitnesses(cosigned, [log.verifierKey], 1)).toThrow(/type 0x04/);
    expect(fromBase64(text.split('\n')[2]!)).toEqual(new Uint8Array(32).fill(7));
  });
});
