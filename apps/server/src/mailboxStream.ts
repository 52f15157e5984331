/**
 * Large mailbox items leave as pieces, never as one string: the JSON of each item around its payload,
 * and the payload's base64url in 48 KiB slices, so an item is never one multi-megabyte string (nor a
 * second copy of its bytes), and the event loop gets a turn between slices. Used by the HTTP mailbox
 * page (a chunked response) and by push (a WebSocket message in fragments, frameWriter.ts). Small pages
 * and items go through JSON.stringify as usual; the bytes are the same either way.
 */
import { Readable } from 'node:stream';
import type { StoredMessage } from '@doublelock/store';
import { toMailboxItem } from './wire.ts';

/** Pages whose payloads add up to more than this are streamed. */
export const STREAM_PAGE_BYTES = 256 * 1024;
/** A pushed item whose payload is larger than this leaves as its own frame, in fragments. */
export const STREAM_ITEM_BYTES = 256 * 1024;
/** A multiple of 3 bytes, so the slices' base64url joins into the whole payload's. */
const SLICE = 48 * 1024;
const MARK = '\u0000payload\u0000';

export const pageBytes = (items: StoredMessage[]) => items.reduce((sum, m) => sum + m.payload.length, 0);

/** The JSON of one mailbox item (as JSON.stringify(toMailboxItem(m)) writes it), in pieces of at most ~64 KiB. */
export function* itemChunks(m: StoredMessage): Generator<string> {
  const json = JSON.stringify({ ...toMailboxItem({ ...m, payload: new Uint8Array(0) }), payload: MARK });
  const at = json.indexOf(JSON.stringify(MARK));
  yield json.slice(0, at) + '"';
  const payload = Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
  for (let offset = 0; offset < payload.length; offset += SLICE) yield payload.subarray(offset, offset + SLICE).toString('base64url');
  yield '"' + json.slice(at + JSON.stringify(MARK).length);
}

function* pageChunks(items: StoredMessage[]): Generator<string> {
  yield '{"items":[';
  for (const [i, m] of items.entries()) {
    if (i > 0) yield ',';
    yield* itemChunks(m);
  }
  yield ']}';
}

/** A push frame holding one large item: `{"type":"items","items":[…]}` in pieces. */
export function* itemFrameChunks(m: StoredMessage): Generator<string> {
  yield '{"type":"items","items":[';
  yield* itemChunks(m);
  yield ']}';
}

export const mailboxPageStream = (items: StoredMessage[]): Readable => Readable.from(pageChunks(items), { objectMode: false });
