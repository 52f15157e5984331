/** HTTP client of a hash-sharing hub (apps/hub), for a platform: every call carries the member's key. */
import { LogHttpClient } from '@doublelock/log';
import { fromBase64Url, HUB_FEED_NDJSON, hubFeedHeader, hubFeedResponse, hubInfoResponse, hubWriteResponse, type HubFeedResponse, type HubInfo, type HubSignalInput, type HubSignalRef, type HubWriteResponse } from '@doublelock/protocol';
import type { z } from 'zod';

export class HubHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HubHttpError';
  }
}

/** A feed page as the client hands it on: the entries are the log leaves' exact bytes. */
export type HubFeedPage = Omit<HubFeedResponse, 'entries'> & { entries: Uint8Array[] };

const NEWLINE = 0x0a;

/** An NDJSON feed page: the header line (hubFeedHeader), then exactly `count` entry lines. */
export function parseFeedNdjson(body: Uint8Array): HubFeedPage {
  let end = body.indexOf(NEWLINE);
  if (end < 0) end = body.length;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body.subarray(0, end)));
  } catch {
    throw new Error('hub /v1/feed: malformed NDJSON page: the header line is not JSON');
  }
  const header = hubFeedHeader.safeParse(json);
  if (!header.success) throw new Error(`hub /v1/feed: malformed NDJSON page header: ${header.error.message}`);
  const { count, ...page } = header.data;
  const entries: Uint8Array[] = [];
  for (let start = end + 1; start <= body.length && end < body.length; start = end + 1) {
    end = body.indexOf(NEWLINE, start);
    if (end < 0) end = body.length;
    if (entries.length === count) throw new Error(`hub /v1/feed: malformed NDJSON page: more than the ${count} entries its header announces`);
    entries.push(body.subarray(start, end));
  }
  if (entries.length !== count) throw new Error(`hub /v1/feed: malformed NDJSON page: ${entries.length} entries, its header announces ${count}`);
  return { ...page, entries };
}

export class HubClient {
  readonly url: string;
  readonly log: LogHttpClient;

  constructor(
    url: string,
    private readonly key: string,
    private readonly timeoutMs = 60_000,
  ) {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`a hub URL must be http(s), not ${u.protocol}`);
    this.url = u.href.replace(/\/$/, '');
    this.log = new LogHttpClient(this.url, { headers: { authorization: `Bearer ${key}` } });
  }

  async request(method: string, path: string, body?: unknown, contentType = 'application/json', accept?: string): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.key}` };
    if (accept) headers.accept = accept;
    if (body !== undefined) headers['content-type'] = contentType;
    const response = await fetch(this.url + path, {
      method,
      headers,
      ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (response.ok) return response;
    const text = await response.text();
    let parsed: { code?: string; message?: string } = {};
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      /* not JSON */
    }
    throw new HubHttpError(response.status, parsed.code ?? 'http_error', `hub ${method} ${path.split('?')[0]}: HTTP ${response.status} ${parsed.message ?? text.slice(0, 200)}`);
  }

  async #json<S extends z.ZodType>(method: string, path: string, schema: S, body?: unknown): Promise<z.infer<S>> {
    const parsed = schema.safeParse(await (await this.request(method, path, body)).json());
    if (!parsed.success) throw new Error(`hub ${path.split('?')[0]}: malformed response: ${parsed.error.message}`);
    return parsed.data;
  }

  info(): Promise<HubInfo> {
    return this.#json('GET', '/v1/hub', hubInfoResponse);
  }

  /**
   * A feed page, asked for as NDJSON (the leaves' own bytes, nothing re-encoded); a hub that answers
   * JSON is read as JSON. Either way the page is checked against its schema and its entry count.
   */
  async feed(after: number, limit: number): Promise<HubFeedPage> {
    const path = `/v1/feed?after=${after}&limit=${limit}`;
    const response = await this.request('GET', path, undefined, undefined, `${HUB_FEED_NDJSON}, application/json;q=0.5`);
    if (!response.headers.get('content-type')?.startsWith(HUB_FEED_NDJSON)) {
      const parsed = hubFeedResponse.safeParse(await response.json());
      if (!parsed.success) throw new Error(`hub /v1/feed: malformed response: ${parsed.error.message}`);
      const encoder = new TextEncoder();
      return { ...parsed.data, entries: parsed.data.entries.map((e) => encoder.encode(e)) };
    }
    return parseFeedNdjson(new Uint8Array(await response.arrayBuffer()));
  }

  submit(signals: HubSignalInput[]): Promise<HubWriteResponse> {
    return this.#json('POST', '/v1/signals', hubWriteResponse, { signals });
  }

  withdraw(signals: HubSignalRef[]): Promise<HubWriteResponse> {
    return this.#json('POST', '/v1/signals/withdraw', hubWriteResponse, { signals });
  }

  relabel(ref: HubSignalRef, labels: string[]): Promise<HubWriteResponse> {
    return this.#json('POST', '/v1/signals/labels', hubWriteResponse, { ...ref, labels });
  }

  opinion(ref: HubSignalRef, opinion: { opinion?: 'positive' | 'negative' | 'investigation_seed'; feedback?: 'seen' | 'true_positive' | 'false_positive' }): Promise<HubWriteResponse> {
    return this.#json('POST', '/v1/opinions', hubWriteResponse, { ...ref, ...opinion });
  }

  async consistencyProof(from: number, to: number): Promise<Uint8Array[]> {
    return this.log.consistencyProof(from, to);
  }

  static proof(page: Pick<HubFeedResponse, 'proof'>): Uint8Array[] {
    return page.proof.map(fromBase64Url);
  }
}
