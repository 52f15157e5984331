/** HTTP client of a log server's /v1/log endpoints (see packages/http/src/logRoutes.ts). */
import { fromBase64Url, type ErrorBody } from '@doublelock/protocol';
import {
  logConsistencyProofResponse,
  logCosignatureResponse,
  logEntriesResponse,
  logInclusionProofResponse,
  type LogCosignatureResponse,
} from '@doublelock/protocol/log';
import type { z } from 'zod';

export class LogHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'LogHttpError';
  }
}

export class LogHttpClient {
  readonly baseUrl: string;
  readonly #headers: Record<string, string>;

  /** `headers` go with every request (e.g. the hash-sharing hub's `authorization`, where every read is authenticated). */
  constructor(baseUrl: string, options: { headers?: Record<string, string> } = {}) {
    this.#headers = options.headers ?? {};
    const url = new URL(baseUrl); // throws on a malformed URL
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`log URL must be http(s), not ${url.protocol}`);
    this.baseUrl = url.href.replace(/\/$/, '');
  }

  async #get(path: string, init?: RequestInit): Promise<Response> {
    const response = await fetch(`${this.baseUrl}${path}`, { ...init, headers: { ...this.#headers, ...(init?.headers as Record<string, string> | undefined) } });
    if (response.ok) return response;
    const text = await response.text();
    let body: Partial<ErrorBody> = {};
    try {
      body = JSON.parse(text) as ErrorBody;
    } catch {
      /* not a JSON error body */
    }
    throw new LogHttpError(response.status, body.code ?? 'http_error', `${path.split('?')[0]}: HTTP ${response.status} ${body.code ?? ''} ${body.message ?? text.slice(0, 200)}`.trim());
  }

  async #json<S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>> {
    const parsed = schema.safeParse(await (await this.#get(path)).json());
    if (!parsed.success) throw new Error(`${path.split('?')[0]}: malformed response: ${parsed.error.message}`);
    return parsed.data;
  }

  /** The latest checkpoint note, with the cosignatures the server collected. */
  async checkpoint(): Promise<string> {
    return (await this.#get('/v1/log/checkpoint')).text();
  }

  async witnessedCheckpoint(k = 1): Promise<string> {
    return (await this.#get(`/v1/log/checkpoint/witnessed?k=${k}`)).text();
  }

  async inclusionProof(index: number, treeSize: number): Promise<Uint8Array[]> {
    const body = await this.#json(`/v1/log/proof/inclusion?index=${index}&treeSize=${treeSize}`, logInclusionProofResponse);
    if (body.index !== index || body.treeSize !== treeSize) throw new Error('inclusion proof is for another leaf or tree');
    return body.proof.map(fromBase64Url);
  }

  async consistencyProof(from: number, to: number): Promise<Uint8Array[]> {
    const body = await this.#json(`/v1/log/proof/consistency?from=${from}&to=${to}`, logConsistencyProofResponse);
    if (body.from !== from || body.to !== to) throw new Error('consistency proof is for other tree sizes');
    return body.proof.map(fromBase64Url);
  }

  /** Entries from `start`; the server may return fewer than asked (pages are bounded), never zero. */
  async entries(start: number, end: number): Promise<Uint8Array[]> {
    const body = await this.#json(`/v1/log/entries?start=${start}&end=${end}`, logEntriesResponse);
    if (body.start !== start || body.entries.length === 0 || body.entries.length > end - start) throw new Error(`entries response does not match the range [${start}, ${end})`);
    return body.entries.map(fromBase64Url);
  }

  async postCosignature(note: string): Promise<LogCosignatureResponse> {
    const response = await this.#get('/v1/log/cosignatures', { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' }, body: note });
    const parsed = logCosignatureResponse.safeParse(await response.json());
    if (!parsed.success) throw new Error(`/v1/log/cosignatures: malformed response: ${parsed.error.message}`);
    return parsed.data;
  }
}
