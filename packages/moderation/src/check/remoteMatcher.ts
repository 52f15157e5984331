/**
 * The upload check's side of the matcher process's internal API (apps/matcher): a SignalMatcher that
 * sends each query to one of several matcher processes, round robin, so they share the load; a process
 * that cannot be reached (or fails) is skipped for the next, and the query fails only when every one has.
 * A 4xx answer is a bug on this side and is thrown at once. Answers are validated by the protocol schema.
 */
import { Agent, request as httpRequest } from 'node:http';
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
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  constructor(
    urls: readonly string[],
    private readonly token: string,
    private readonly options: RemoteMatcherOptions = {},
  ) {
    if (!urls.length) throw new TypeError('a remote matcher needs at least one URL');
    this.urls = urls.map((u) => {
      const url = new URL(u);
      // internal API on a private network (loopback, or a cluster network behind the operator's own TLS)
      if (url.protocol !== 'http:') throw new TypeError(`matcher URLs are http:// on the internal network, not ${url.protocol}`);
      return url.toString().replace(/\/$/, '');
    });
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

  /** node:http with kept-alive connections: a query costs a fraction of what fetch() costs in CPU. */
  private request(url: string, method: string, path: string, body: unknown): Promise<unknown> {
    const payload = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        url + path,
        {
          method,
          agent: this.agent,
          timeout: this.options.timeoutMs ?? 10_000,
          headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (error) => reject(new Unavailable(error)));
          res.on('end', () => {
            let answer: { code?: string; message?: string } = {};
            try {
              answer = JSON.parse(Buffer.concat(chunks).toString());
            } catch {
              // not JSON: reported by status below
            }
            const status = res.statusCode ?? 0;
            if (status >= 500) reject(new Unavailable(new Error(`${url}: ${status} ${answer.message ?? ''}`)));
            else if (status < 200 || status >= 300) reject(new RemoteMatcherError(`${url}${path}: ${status} ${answer.code ?? ''} ${answer.message ?? ''}`));
            else resolve(answer);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer in ${this.options.timeoutMs ?? 10_000} ms`)));
      req.on('error', (error) => reject(new Unavailable(error)));
      req.end(payload);
    });
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}

class Unavailable extends Error {
  constructor(override readonly cause: unknown) {
    super('unavailable');
  }
}
