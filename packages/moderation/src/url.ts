/**
 * URL signals: canonicalisation and matching by host, path prefix or exact URL.
 *
 * Parsing follows the WHATWG URL Standard (node's URL class): scheme and host lower-cased, IDN hosts to
 * punycode (UTS #46), default ports dropped, dot segments resolved. On top of that, as URL lists need it:
 * userinfo and fragment dropped, tracking parameters (utm_*, fbclid, gclid…) removed, the rest sorted,
 * a trailing slash removed from non-root paths, a trailing dot removed from the host, percent-escapes of
 * unreserved characters decoded and the others upper-cased (RFC 3986 §6.2.2).
 *
 * A bank's url signal value says how it matches:
 *   `example.com`                    the host and all its subdomains
 *   `https://example.com/videos/*`   that host, paths under /videos (segment-wise)
 *   `https://example.com/v/123`      exactly that URL (canonical form; http and https are the same)
 */

const TRACKING_PARAMS = new Set([
  'fbclid', 'gclid', 'dclid', 'gbraid', 'wbraid', 'msclkid', 'yclid', 'igshid', 'mc_cid', 'mc_eid', '_ga', '_gl', 'ref_src', 'ref_url', 'si', 'spm',
]);

export class UrlError extends TypeError {
  override readonly name = 'UrlError';
}

function isTracking(name: string): boolean {
  const n = name.toLowerCase();
  return n.startsWith('utm_') || TRACKING_PARAMS.has(n);
}

function normaliseEscapes(s: string): string {
  return s.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(c) ? c : `%${hex.toUpperCase()}`;
  });
}

/** Parses and canonicalises a URL; a missing scheme means http. Throws UrlError on anything else. */
export function canonicalUrl(input: string): URL {
  if (typeof input !== 'string' || input.trim() === '') throw new UrlError('a URL must be a non-empty string');
  const text = input.trim();
  let url: URL;
  try {
    // "host:8080/path" has no scheme; "javascript:…", "mailto:…" and "https://…" do
    const hasScheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:(?!\d+(?:[/?#]|$))/.test(text);
    url = new URL(hasScheme ? text : `http://${text}`);
  } catch {
    throw new UrlError(`not a URL: "${text.slice(0, 200)}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UrlError(`only http and https URLs are matched, not ${url.protocol}`);
  if (!url.hostname) throw new UrlError(`URL has no host: "${text.slice(0, 200)}"`);
  url.username = '';
  url.password = '';
  url.hash = '';
  if (url.hostname.endsWith('.')) url.hostname = url.hostname.replace(/\.+$/, '');
  const kept = [...url.searchParams].filter(([name]) => !isTracking(name)).sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  url.search = kept.length ? new URLSearchParams(kept).toString() : '';
  let path = normaliseEscapes(url.pathname);
  if (path.length > 1) path = path.replace(/\/+$/, '') || '/';
  url.pathname = path;
  return url;
}

/** The canonical text of a URL (see canonicalUrl). */
export function canonicaliseUrl(input: string): string {
  return canonicalUrl(input).toString();
}

export type UrlRuleKind = 'host' | 'prefix' | 'exact';

export interface UrlRule {
  kind: UrlRuleKind;
  host: string;
  /** prefix: the path prefix ('/videos'); exact: path plus query. */
  path: string;
  /** The normalised signal value to store in a bank. */
  value: string;
}

/** Reads a bank's url signal value (grammar in the file comment) into a rule. */
export function parseUrlRule(value: string): UrlRule {
  const text = value.trim();
  if (!/[/:]/.test(text)) {
    const host = canonicalUrl(text).hostname;
    return { kind: 'host', host, path: '', value: host };
  }
  if (text.endsWith('/*')) {
    const url = canonicalUrl(text.slice(0, -2) || '/');
    const path = url.pathname === '/' ? '' : url.pathname;
    return { kind: 'prefix', host: url.hostname, path, value: `${url.protocol}//${url.host}${path}/*` };
  }
  const url = canonicalUrl(text);
  return { kind: 'exact', host: url.hostname, path: exactKey(url), value: url.toString() };
}

function exactKey(url: URL): string {
  return `${url.port ? `:${url.port}` : ''}${url.pathname}${url.search}`;
}

export interface UrlMatch<T> {
  rule: UrlRule;
  data: T;
}

/** Matches URLs against host, path-prefix and exact rules (lookups walk the host's suffixes). */
export class UrlMatcher<T = unknown> {
  private readonly byHost = new Map<string, Array<UrlMatch<T>>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(value: string, data: T): UrlRule {
    const rule = parseUrlRule(value);
    const list = this.byHost.get(rule.host) ?? [];
    list.push({ rule, data });
    this.byHost.set(rule.host, list);
    this.count++;
    return rule;
  }

  /** Whether a rule with this value (and data passing `predicate`) is held. */
  has(value: string, predicate: (data: T) => boolean = () => true): boolean {
    const rule = parseUrlRule(value);
    return this.byHost.get(rule.host)?.some((m) => m.rule.value === rule.value && predicate(m.data)) ?? false;
  }

  remove(value: string, predicate: (data: T) => boolean = () => true): boolean {
    const rule = parseUrlRule(value);
    const list = this.byHost.get(rule.host);
    const i = list?.findIndex((m) => m.rule.value === rule.value && predicate(m.data)) ?? -1;
    if (!list || i < 0) return false;
    list.splice(i, 1);
    if (!list.length) this.byHost.delete(rule.host);
    this.count--;
    return true;
  }

  /** Every rule the URL matches. Invalid URLs throw UrlError. */
  match(input: string): Array<UrlMatch<T>> {
    const url = canonicalUrl(input);
    const host = url.hostname;
    const out: Array<UrlMatch<T>> = [];
    for (const m of this.byHost.get(host) ?? []) {
      const { kind, path } = m.rule;
      if (kind === 'host') out.push(m);
      else if (kind === 'prefix' && (path === '' || url.pathname === path || url.pathname.startsWith(`${path}/`))) out.push(m);
      else if (kind === 'exact' && path === exactKey(url)) out.push(m);
    }
    // Parent domains: only their host rules apply ("example.com" covers "www.example.com").
    for (let dot = host.indexOf('.'); dot >= 0; dot = host.indexOf('.', dot + 1)) {
      for (const m of this.byHost.get(host.slice(dot + 1)) ?? []) if (m.rule.kind === 'host') out.push(m);
    }
    return out;
  }
}
