/** HTTP client of a hash-sharing hub (apps/hub), for a platform: every call carries the member's key. */
import { LogHttpClient } from '@doublelock/log';
import { fromBase64Url, hubFeedResponse, hubInfoResponse, hubWriteResponse, type HubFeedResponse, type HubInfo, type HubSignalInput, type HubSignalRef, type HubWriteResponse } from '@doublelock/protocol';
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

  async request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.key}` };
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

  feed(after: number, limit: number): Promise<HubFeedResponse> {
    return this.#json('GET', `/v1/feed?after=${after}&limit=${limit}`, hubFeedResponse);
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

  static proof(page: HubFeedResponse): Uint8Array[] {
    return page.proof.map(fromBase64Url);
  }
}
