/**
 * A mailbox page with large items is written to the response as a stream: the JSON of each item around
 * its payload, and the payload's base64url in 48 KiB slices, so the page is never one multi-megabyte
 * string (nor a second copy of its bytes), and the event loop gets a turn between slices. Small pages go
 * through the route's serializer as usual. The bytes are those of JSON.stringify({ items }).
 */
import { Readable } from 'node:stream';
import type { StoredMessage } from '@doublelock/store';
import { toMailboxItem } from './wire.ts';

/** Pages whose payloads add up to more than this are streamed. */
export const STREAM_PAGE_BYTES = 256 * 1024;
/** A multiple of 3 bytes, so the slices' base64url joins into the whole payload's. */
const SLICE = 48 * 1024;
const MARK = '\u0000payload\u0000';

export const pageBytes = (items: StoredMessage[]) => items.reduce((sum, m) => sum + m.payload.length, 0);

function* pageChunks(items: StoredMessage[]): Generator<string> {
  yield '{"items":[';
  for (const [i, m] of items.entries()) {
    const json = JSON.stringify({ ...toMailboxItem({ ...m, payload: new Uint8Array(0) }), payload: MARK });
    const at = json.indexOf(JSON.stringify(MARK));
    yield (i > 0 ? ',' : '') + json.slice(0, at) + '"';
    const payload = Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
    for (let offset = 0; offset < payload.length; offset += SLICE) yield payload.subarray(offset, offset + SLICE).toString('base64url');
    yield '"' + json.slice(at + JSON.stringify(MARK).length);
  }
  yield ']}';
}

export const mailboxPageStream = (items: StoredMessage[]): Readable => Readable.from(pageChunks(items), { objectMode: false });
