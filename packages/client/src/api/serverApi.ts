/**
 * HTTP client for the Doublelock server: every request body is built from, and every response parsed with,
 * the shared wire schemas in @doublelock/protocol. Errors come back as ApiError with the server's stable
 * code. Works wherever `fetch` does (Node 20+, browsers).
 */
import {
  accountResponse,
  addDeviceResponse,
  challengeResponse,
  claimKeyPackagesResponse,
  commitRejectionResponse,
  commitResponse,
  errorBody,
  fromBase64Url,
  fetchMailboxResponse,
  groupInfoResponse,
  groupResponse,
  keyPackageCountResponse,
  linkConfirmationResponse,
  logConsistencyProofResponse,
  logEntriesResponse,
  registerResponse,
  reportResponse,
  sendMessageResponse,
  deliveryResponse,
  sessionResponse,
  ackResponse,
  adNoticesResponse,
  brandSafetyReport,
  campaignListResponse,
  campaignResponse,
  channelListResponse,
  channelResponse,
  feedResponse,
  followingResponse,
  followResponse,
  mediaResponse,
  postListResponse,
  postResponse,
  type AccountResponse,
  type CreateCampaignRequest,
  type CreateChannelRequest,
  type CreatePostRequest,
  type CommitRequest,
  type RegisterRequest,
  type ReportRequest,
  type SendMessageRequest,
} from '@doublelock/protocol';
import { z } from 'zod';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Supplies a session token; `renew` is called once when the server says the token is no longer valid. */
export interface SessionSource {
  token(): Promise<string>;
  renew(): Promise<string>;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

const page = (p: { before?: number; limit?: number } = {}) => `?limit=${p.limit ?? 20}${p.before ? `&before=${p.before}` : ''}`;

export class ServerApi {
  readonly baseUrl: string;
  session: SessionSource | undefined;

  constructor(
    baseUrl: string,
    private readonly fetchImpl: typeof fetch = (...args) => globalThis.fetch(...args),
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  /** The origin devices sign into their authentication response. */
  get origin(): string {
    return new URL(this.baseUrl).origin;
  }

  private async request<S extends z.ZodType>(method: Method, path: string, schema: S, body?: unknown, authenticated = true): Promise<z.infer<S>> {
    const response = await this.send(method, path, body === undefined ? undefined : JSON.stringify(body), 'application/json', authenticated);
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ApiError(response.status, 'invalid_response', `${method} ${path}: the server did not answer JSON`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new ApiError(response.status, 'invalid_response', `${method} ${path}: unexpected answer: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
    return parsed.data;
  }

  /** Sends with the session token, renewing it once on 401; throws ApiError on any non-2xx. */
  private async send(method: Method, path: string, body: BodyInit | (() => ReadableStream<Uint8Array>) | undefined, contentType: string | undefined, authenticated: boolean): Promise<Response> {
    const attempt = async (token: string | undefined) => {
      const headers: Record<string, string> = {};
      if (contentType && body !== undefined) headers['content-type'] = contentType;
      if (token) headers.authorization = `Bearer ${token}`;
      // A streamed body is made afresh per attempt (a stream is read once); fetch needs `duplex` for it.
      // No redirects for it either: undici keeps a streamed body whole in memory to be able to replay it.
      const init = typeof body === 'function' ? { body: body(), duplex: 'half', redirect: 'error' } : body !== undefined ? { body } : {};
      return this.fetchImpl(this.baseUrl + path, { method, headers, ...init } as RequestInit);
    };
    let response: Response;
    if (authenticated) {
      if (!this.session) throw new ApiError(401, 'unauthenticated', 'No session: sign in first.');
      response = await attempt(await this.session.token());
      if (response.status === 401) response = await attempt(await this.session.renew());
    } else {
      response = await attempt(undefined);
    }
    if (!response.ok) {
      const text = await response.text();
      let error: z.infer<typeof errorBody> | undefined;
      try {
        const parsed = errorBody.safeParse(JSON.parse(text));
        if (parsed.success) error = parsed.data;
      } catch {
        error = undefined;
      }
      throw new ApiError(response.status, error?.code ?? `http_${response.status}`, `${method} ${path}: ${error?.message ?? (text.slice(0, 200) || response.statusText)}`, error?.details);
    }
    return response;
  }

  register(request: RegisterRequest) {
    return this.request('POST', '/v1/accounts', registerResponse, request, false);
  }
  account(username: string): Promise<AccountResponse> {
    return this.request('GET', `/v1/accounts/${encodeURIComponent(username)}`, accountResponse);
  }
  addDevice(username: string, device: RegisterRequest['device'], linkConfirmation?: string) {
    return this.request('POST', `/v1/accounts/${encodeURIComponent(username)}/devices`, addDeviceResponse, { device, ...(linkConfirmation && { linkConfirmation }) }, false);
  }
  linkConfirmation() {
    return this.request('GET', '/v1/devices/me/link', linkConfirmationResponse);
  }
  revokeDevice(username: string, deviceId: string, revocation: { revokedAt: number; accountSignature: string; revokedBy?: string }) {
    return this.request('POST', `/v1/accounts/${encodeURIComponent(username)}/devices/${deviceId}/revoke`, z.object({ revoked: z.boolean() }).loose(), revocation, false);
  }
  challenge(username: string, deviceId: string) {
    return this.request('POST', '/v1/auth/challenge', challengeResponse, { username, deviceId }, false);
  }
  createSession(request: { username: string; deviceId: string; challenge: string; signature: string }) {
    return this.request('POST', '/v1/auth/session', sessionResponse, request, false);
  }
  uploadKeyPackages(keyPackages: string[], lastResort?: string) {
    return this.request('POST', '/v1/keypackages', keyPackageCountResponse, { keyPackages, ...(lastResort && { lastResort }) });
  }
  keyPackageCount() {
    return this.request('GET', '/v1/keypackages/count', keyPackageCountResponse);
  }
  claimKeyPackages(username: string) {
    return this.request('POST', '/v1/keypackages/claim', claimKeyPackagesResponse, { username });
  }
  createGroup(groupId: string) {
    return this.request('POST', '/v1/groups', groupResponse, { groupId });
  }
  group(groupId: string) {
    return this.request('GET', `/v1/groups/${groupId}`, groupResponse);
  }
  /** The GroupInfo the server keeps for the group's current epoch (members only; 404 when none): see groups/externalRejoin.ts. */
  groupInfo(groupId: string) {
    return this.request('GET', `/v1/groups/${groupId}/group-info`, groupInfoResponse);
  }
  commit(groupId: string, request: CommitRequest) {
    return this.request('POST', `/v1/groups/${groupId}/commits`, commitResponse, request);
  }
  /** Reports, signed, that commit `seq` failed this device's checks (enough reports void it). */
  rejectCommit(groupId: string, seq: number, reason: string, signature: string) {
    return this.request('POST', `/v1/groups/${groupId}/commits/${seq}/rejections`, commitRejectionResponse, { reason: reason.slice(0, 500), signature });
  }
  sendMessage(groupId: string, request: SendMessageRequest) {
    return this.request('POST', `/v1/groups/${groupId}/messages`, sendMessageResponse, request);
  }
  /** How many recipient devices have not fetched each of these messages this device sent (0: delivered). */
  deliveryOf(groupId: string, seqs: number[]) {
    return this.request('POST', `/v1/groups/${groupId}/delivery`, deliveryResponse, { seqs });
  }
  mailbox(limit = 100) {
    return this.request('GET', `/v1/mailbox?limit=${limit}`, fetchMailboxResponse);
  }
  ack(ids: number[]) {
    return this.request('POST', '/v1/mailbox/ack', ackResponse, { ids });
  }
  /** Transparency log: a consistency proof between two tree sizes (for key transparency). */
  async consistencyProof(from: number, to: number): Promise<Uint8Array[]> {
    const { proof } = await this.request('GET', `/v1/log/proof/consistency?from=${from}&to=${to}`, logConsistencyProofResponse, undefined, false);
    return proof.map(fromBase64Url);
  }
  /** The log's latest checkpoint (a signed note), or the latest one with `k` witness cosignatures. */
  async logCheckpoint(witnessed?: number): Promise<string> {
    const path = witnessed ? `/v1/log/checkpoint/witnessed?k=${witnessed}` : '/v1/log/checkpoint';
    return (await this.send('GET', path, undefined, undefined, false)).text();
  }
  /** Log entries [start, end) (the server may return fewer: ask again from where it stopped). */
  async logEntries(start: number, end: number): Promise<Uint8Array[]> {
    const { entries } = await this.request('GET', `/v1/log/entries?start=${start}&end=${end}`, logEntriesResponse, undefined, false);
    return entries.map(fromBase64Url);
  }
  report(request: ReportRequest) {
    return this.request('POST', '/v1/reports', reportResponse, request);
  }
  async putBlob(groupId: string, sha256hex: string, bytes: Uint8Array): Promise<void> {
    await this.send('PUT', `/v1/groups/${groupId}/blobs/${sha256hex}`, bytes as BodyInit, 'application/octet-stream', true);
  }
  async getBlob(groupId: string, sha256hex: string): Promise<Uint8Array> {
    const response = await this.send('GET', `/v1/groups/${groupId}/blobs/${sha256hex}`, undefined, undefined, true);
    return new Uint8Array(await response.arrayBuffer());
  }
  /** Uploads a blob from a stream (`body` is called once per attempt); never holds it whole. */
  async putBlobStream(groupId: string, sha256hex: string, body: () => ReadableStream<Uint8Array>): Promise<void> {
    // Browsers send a streamed request body only over HTTP/2 or 3 (Chromium refuses it on HTTP/1.1): there the
    // sealed chunks become a Blob (which the browser may keep on disk), sent as a whole body.
    const streams = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
    const upload = streams ? body : await blobOf(body());
    await this.send('PUT', `/v1/groups/${groupId}/blobs/${sha256hex}`, upload, 'application/octet-stream', true);
  }
  /** A blob as a stream, read as it arrives. */
  async getBlobStream(groupId: string, sha256hex: string): Promise<ReadableStream<Uint8Array>> {
    const response = await this.send('GET', `/v1/groups/${groupId}/blobs/${sha256hex}`, undefined, undefined, true);
    if (!response.body) throw new ApiError(response.status, 'invalid_response', 'the server sent no attachment body');
    return response.body;
  }

  // ---- public channels (docs/CHANNELS.md). Reads work without a session; with one, the reader also
  // sees age-restricted posts and their own posts in every state.

  private get signedIn(): boolean {
    return this.session !== undefined;
  }
  createChannel(request: CreateChannelRequest) {
    return this.request('POST', '/v1/channels', channelResponse, request);
  }
  channel(handle: string) {
    return this.request('GET', `/v1/channels/${encodeURIComponent(handle)}`, channelResponse, undefined, this.signedIn);
  }
  channels(p?: { before?: number; limit?: number }) {
    return this.request('GET', `/v1/channels${page(p)}`, channelListResponse, undefined, this.signedIn);
  }
  updateChannel(handle: string, change: { name?: string; description?: string; adsEvery?: number }) {
    return this.request('PATCH', `/v1/channels/${encodeURIComponent(handle)}`, channelResponse, change);
  }
  /** Uploads an image or video (its type is read from the bytes by the server). */
  async uploadMedia(handle: string, bytes: Uint8Array) {
    const response = await this.send('POST', `/v1/channels/${encodeURIComponent(handle)}/media`, bytes as BodyInit, 'application/octet-stream', true);
    return mediaResponse.parse(await response.json());
  }
  /** Posts; a refused post throws ApiError with code `content_blocked` and `details.reasons`. */
  createPost(handle: string, post: CreatePostRequest) {
    return this.request('POST', `/v1/channels/${encodeURIComponent(handle)}/posts`, postResponse, post);
  }
  channelFeed(handle: string, p?: { before?: number; limit?: number }) {
    return this.request('GET', `/v1/channels/${encodeURIComponent(handle)}/posts${page(p)}`, feedResponse, undefined, this.signedIn);
  }
  post(id: number) {
    return this.request('GET', `/v1/posts/${id}`, postResponse, undefined, this.signedIn);
  }
  editPost(id: number, change: { text?: string; links?: string[]; categories?: string[] }) {
    return this.request('PATCH', `/v1/posts/${id}`, postResponse, change);
  }
  async deletePost(id: number): Promise<void> {
    await this.send('DELETE', `/v1/posts/${id}`, undefined, undefined, true);
  }
  replies(id: number, p?: { before?: number; limit?: number }) {
    return this.request('GET', `/v1/posts/${id}/replies${page(p)}`, postListResponse, undefined, this.signedIn);
  }
  reply(id: number, post: CreatePostRequest) {
    return this.request('POST', `/v1/posts/${id}/replies`, postResponse, post);
  }
  hashtag(tag: string, p?: { before?: number; limit?: number }) {
    return this.request('GET', `/v1/hashtags/${encodeURIComponent(tag.replace(/^#/, ''))}${page(p)}`, postListResponse, undefined, this.signedIn);
  }
  follow(handle: string) {
    return this.request('POST', `/v1/channels/${encodeURIComponent(handle)}/follow`, followResponse);
  }
  unfollow(handle: string) {
    return this.request('DELETE', `/v1/channels/${encodeURIComponent(handle)}/follow`, followResponse);
  }
  following() {
    return this.request('GET', '/v1/following', followingResponse);
  }
  homeFeed(p?: { before?: number; limit?: number }) {
    return this.request('GET', `/v1/feed${page(p)}`, postListResponse);
  }
  myPosts(p?: { before?: number; limit?: number }) {
    return this.request('GET', `/v1/me/posts${page(p)}`, postListResponse);
  }
  async media(id: number): Promise<{ contentType: string; bytes: Uint8Array }> {
    const response = await this.send('GET', `/v1/media/${id}`, undefined, undefined, this.signedIn);
    return { contentType: response.headers.get('content-type') ?? 'application/octet-stream', bytes: new Uint8Array(await response.arrayBuffer()) };
  }
  createCampaign(campaign: CreateCampaignRequest) {
    return this.request('POST', '/v1/ads/campaigns', campaignResponse, campaign);
  }
  campaigns() {
    return this.request('GET', '/v1/ads/campaigns', campaignListResponse);
  }
  adNotices() {
    return this.request('GET', '/v1/ads/notices', adNoticesResponse);
  }
  brandSafetyReport() {
    return this.request('GET', '/v1/ads/report', brandSafetyReport);
  }
}

/** A stream's bytes as a Blob (browsers: the parts go to the Blob store chunk by chunk). */
async function blobOf(stream: ReadableStream<Uint8Array>): Promise<Blob> {
  const parts: BlobPart[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return new Blob(parts);
    parts.push(new Blob([value as BlobPart]));
  }
}
