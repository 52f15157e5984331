/**
 * The messenger's sealed storage (src/messenger/sealedStorage.ts) without a browser: WebCrypto is Node's.
 * A browser that stored raw values before sealing is sealed in place; a value moved to another key, or
 * changed, does not open; the key sealing it is not extractable. (messenger.test.ts checks the real
 * IndexedDB in Chromium.)
 */
import { MemoryStorage } from '@doublelock/client';
import { describe, expect, it } from 'vitest';
import { SEALED_MARKER, SealedStorage } from '../src/messenger/sealedStorage.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const key = () => crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']) as Promise<CryptoKey>;

describe('sealed messenger storage', () => {
  it('seals what the SDK writes and opens it again; the stored bytes hold nothing in clear', async () => {
    const inner = new MemoryStorage();
    const sealed = await SealedStorage.open(inner, await key());
    await sealed.write([{ key: 'device', value: bytes('{"username":"alice","secret":"s3cr3t"}') }, { key: 'group/1', value: bytes('state') }]);
    expect(new TextDecoder().decode(await sealed.get('device'))).toContain('s3cr3t');
    const raw = (await inner.get('device'))!;
    expect(raw[0]).toBe(1);
    expect(new TextDecoder().decode(raw)).not.toMatch(/alice|s3cr3t/);
    expect(await sealed.keys('')).toEqual(['device', 'group/1']);
    await sealed.write([{ key: 'group/1', value: undefined }]);
    expect(await sealed.get('group/1')).toBeUndefined();
    await expect(sealed.write([{ key: SEALED_MARKER, value: bytes('x') }])).rejects.toThrow(/own key/);
  });

  it('refuses a value moved to another key, changed, or opened with another key', async () => {
    const inner = new MemoryStorage();
    const k = await key();
    const sealed = await SealedStorage.open(inner, k);
    await sealed.write([{ key: 'a', value: bytes('one') }, { key: 'b', value: bytes('two') }]);
    await inner.write([{ key: 'b', value: await inner.get('a') }]);
    await expect(sealed.get('b')).rejects.toThrow(/does not open/);
    const tampered = (await inner.get('a'))!;
    tampered[tampered.length - 1]! ^= 1;
    await inner.write([{ key: 'a', value: tampered }]);
    await expect(sealed.get('a')).rejects.toThrow(/does not open/);
    await sealed.write([{ key: 'c', value: bytes('three') }]);
    await expect((await SealedStorage.open(inner, await key())).get('c')).rejects.toThrow(/does not open/);
    await expect(crypto.subtle.exportKey('raw', k)).rejects.toThrow();
  });

  it('seals a browser’s raw values in place on first open, in one write', async () => {
    const inner = new MemoryStorage();
    await inner.write([{ key: 'device', value: bytes('raw device') }, { key: 'group/7', value: bytes('raw state') }]);
    const sealed = await SealedStorage.open(inner, await key());
    expect(new TextDecoder().decode(await sealed.get('device'))).toBe('raw device');
    expect(new TextDecoder().decode(await sealed.get('group/7'))).toBe('raw state');
    expect(new TextDecoder().decode(await inner.get('group/7'))).not.toContain('raw state');
    expect(await inner.get(SEALED_MARKER)).toEqual(new Uint8Array([1]));
  });
});
