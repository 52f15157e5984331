/**
 * The upload check's side of the matcher process's internal API (apps/matcher): a SignalMatcher that
 * sends each query to one of several matcher processes, round robin, so they share the load; a process
 * that cannot be reached (or fails) is skipped for the next, and the query fails only when every one has.
 * A 4xx answer is a bug on this side and is thrown at once. Answers are validated by the protocol schema.
 */
import { matcherMatches, type MatcherQuery } from '@doublelock/protocol';
import type { QuerySignals, SignalMatch } from '../matcher.ts';
import { PdqHash } from '../pdqHash.ts';
import { formatVpdqSignal } from '../vpdqFormat.ts';
import type { SignalMatcher } from './signalMatcher.ts';

export interface RemoteMatcherOptions {
  /** per-request time limit (default 10 s) */
  timeoutMs?: number;
}

export class RemoteMatcherError extends Error {
  override readonly name = 'RemoteMatcherError';
}

const hex = (h: PdqHash | string) => (typeof h === 'string' ? h.toLowerCase() : h.toHex());

/** A query as the wire carries it. */
export function toMatcherQuery(query: QuerySignals): MatcherQuery {
  const out: MatcherQuery = {};
  if (query.pdq !== undefined) out.pdq = hex(query.pdq);
  if (query.pdqVariants) out.pdqVariants = Object.fromEntries(Object.entries(query.pdqVariants).map(([d, h]) => [d, hex(h!)]));
  if (query.quality !== undefined) out.quality = query.quality;
  if (query.md5) out.md5 = query.md5.toLowerCase();
  if (query.sha256) out.sha256 = query.sha256.toLowerCase();
  if (query.url) out.url = query.url;
  if (query.vpdq?.length) out.vpdq = formatVpdqSignal(query.vpdq);
  return out;
}

export class RemoteMatcher implements SignalMatcher {
  private next = 0;
  private readonly urls: string[];

  constructor(
    urls: readonly string[],
    private readonly token: string,
    private readonly options: RemoteMatcherOptions = {},
  ) {
    if (!urls.length) throw new TypeError('a remote matcher needs at least one URL');
    this.urls = urls.map((u) => new URL(u).toString().replace(/\/$/, ''));
  }

  async match(query: QuerySignals): Promise<SignalMatch[]> {
    const body = await this.call('POST', '/internal/v1/match', toMatcherQuery(query));
    return matcherMatches.parse(body).matches as SignalMatch[];
  }

  /** Asks every process to pick up new signals now (before a sweep runs against them). */
  async refresh(): Promise<number> {
    const answers = await Promise.all(this.urls.map((url) => this.request(url, 'POST', '/internal/v1/refresh', {})));
    return Math.max(0, ...answers.map((a) => Number((a as { added?: number }).added ?? 0)));
  }

  private async call(method: string, path: string, body: unknown): Promise<unknown> {
    const first = this.next++ % this.urls.length;
    let last: unknown;
    for (let i = 0; i < this.urls.length; i++) {
      try {
        return await this.request(this.urls[(first + i) % this.urls.length]!, method, path, body);
      } catch (error) {
        if (!(error instanceof Unavailable)) throw error;
        last = error.cause;
      }
    }
    throw new RemoteMatcherError(`no matcher process answered (${this.urls.length} tried): ${(last as Error)?.message ?? last}`);
  }

  private async request(url: string, method: string, path: string, body: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(url + path, {
        method,
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      throw new Unavailable(error);
    }
    const answer = (await response.json().catch(() => ({}))) as { code?: string; message?: string };
    if (response.status >= 500) throw new Unavailable(new Error(`${url}: ${response.status} ${answer.message ?? ''}`));
    if (!response.ok) throw new RemoteMatcherError(`${url}${path}: ${response.status} ${answer.code ?? ''} ${answer.message ?? ''}`);
    return answer;
  }
}

class Unavailable extends Error {
  constructor(override readonly cause: unknown) {
    super('unavailable');
  }
}
