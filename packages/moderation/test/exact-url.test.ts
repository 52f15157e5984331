import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exactHashes, exactHashesOfFile, normaliseExactHash } from '../src/exact.ts';
import { UrlError, UrlMatcher, canonicaliseUrl, parseUrlRule } from '../src/url.ts';

describe('exact hashes', () => {
  it('gives the published MD5 and SHA-256 of "abc" (RFC 1321 A.5, FIPS 180-4 example)', async () => {
    const h = await exactHashes(new TextEncoder().encode('abc'));
    expect(h.md5).toBe('900150983cd24fb0d6963f7d28e17f72');
    expect(h.sha256).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('streams a multi-chunk file to the same digests as one-shot hashing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dl-exact-'));
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 0);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 255;
    writeFileSync(join(dir, 'f'), data);
    const h = await exactHashesOfFile(join(dir, 'f'));
    expect(h.bytes).toBe(data.length);
    expect(h.md5).toBe(createHash('md5').update(data).digest('hex'));
    expect(h.sha256).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('normalises list values and rejects malformed ones', () => {
    expect(normaliseExactHash('md5', ' 900150983CD24FB0D6963F7D28E17F72 ')).toBe('900150983cd24fb0d6963f7d28e17f72');
    expect(() => normaliseExactHash('sha256', 'abc')).toThrow(/64 hex digits/);
  });
});

describe('URL canonicalisation', () => {
  it.each([
    ['HTTP://Example.COM:80/a/b/?utm_source=x&b=2&a=1#frag', 'http://example.com/a/b?a=1&b=2'],
    ['https://example.com:443/', 'https://example.com/'],
    ['example.com/path/', 'http://example.com/path'],
    ['https://user:pw@example.com./x?fbclid=1&gclid=2', 'https://example.com/x'],
    ['https://bücher.example/Straße', 'https://xn--bcher-kva.example/Stra%C3%9Fe'],
    ['https://example.com/%7euser/%2f', 'https://example.com/~user/%2F'],
    ['https://example.com/a/../b', 'https://example.com/b'],
  ])('%s → %s', (input, want) => {
    expect(canonicaliseUrl(input)).toBe(want);
  });

  it('refuses non-web schemes and garbage with a UrlError', () => {
    expect(() => canonicaliseUrl('javascript:alert(1)')).toThrow(UrlError);
    expect(() => canonicaliseUrl('mailto:a@b.example')).toThrow(/only http and https/);
    expect(canonicaliseUrl('Example.com:8080/x')).toBe('http://example.com:8080/x');
    expect(() => canonicaliseUrl('ftp://example.com/x')).toThrow(/only http and https/);
    expect(() => canonicaliseUrl('http://exa mple.com')).toThrow(/not a URL/);
    expect(() => canonicaliseUrl('')).toThrow(/non-empty/);
  });
});

describe('URL matching', () => {
  const matcher = new UrlMatcher<string>();
  matcher.add('Terror.Example', 'host');
  matcher.add('https://videos.example.org/channel/42/*', 'prefix');
  matcher.add('http://news.example.net/story?id=7&utm_campaign=x', 'exact');

  const hits = (url: string) => matcher.match(url).map((m) => m.data);

  it('matches a host and its subdomains, not look-alikes', () => {
    expect(hits('https://terror.example/anything')).toEqual(['host']);
    expect(hits('https://cdn.eu.TERROR.example./x')).toEqual(['host']);
    expect(hits('https://notterror.example/')).toEqual([]);
  });

  it('matches a path prefix by whole segments', () => {
    expect(hits('http://videos.example.org/channel/42')).toEqual(['prefix']);
    expect(hits('https://videos.example.org/channel/42/clip?x=1')).toEqual(['prefix']);
    expect(hits('https://videos.example.org/channel/420')).toEqual([]);
    expect(hits('https://www.videos.example.org/channel/42')).toEqual([]);
  });

  it('matches an exact URL whatever its tracking parameters, parameter order, scheme or fragment', () => {
    expect(hits('https://NEWS.example.net/story?fbclid=abc&id=7#top')).toEqual(['exact']);
    expect(hits('https://news.example.net/story?id=8')).toEqual([]);
  });

  it('stores rules in a canonical form and removes them', () => {
    expect(parseUrlRule('https://Videos.example.org/channel/42/*').value).toBe('https://videos.example.org/channel/42/*');
    expect(parseUrlRule('WWW.Example.com').kind).toBe('host');
    expect(matcher.remove('terror.example')).toBe(true);
    expect(hits('https://terror.example/')).toEqual([]);
  });
});
