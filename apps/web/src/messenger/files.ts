/**
 * Attachments in the browser, on the SDK's streamed attachments (packages/client envelope/attachmentStream.ts):
 *   - sending reads the File in slices (Blob.slice), so the SDK seals it 64 KiB at a time and the page never
 *     holds the whole file; the SDK reads it twice (hash, then upload) and gathers the sealed upload in a
 *     Blob, which the browser keeps in its blob store (Chromium sends no streamed request body over HTTP/1.1);
 *   - image previews are made on this device, as the CLI's sharp previewer does: decoded with
 *     createImageBitmap (EXIF orientation applied), drawn at most 320 px on its longer side on an
 *     OffscreenCanvas and encoded as WebP (no metadata, so no location, leaves in it); the SDK seals and
 *     uploads it as a blob of its own;
 *   - receiving streams the sealed blob through the SDK's checks chunk by chunk, folding the plaintext into a
 *     Blob as it goes (bounded page memory), and hands the file over only once every chunk and the
 *     whole-file hashes verified: a tampered chunk yields nothing but the reason.
 */
import type { ByteSource, ImagePreview, ImagePreviewer, Messenger, MessageContent } from '@doublelock/client';
import { sealedSize } from '@doublelock/client/envelope/attachmentStream';

export type FileContent = Extract<MessageContent, { type: 'file' }>;

/** Bytes read from the File per step: the most the page holds of it at once. */
const SLICE_BYTES = 1024 * 1024;
const PREVIEW_EDGE = 320;
/** Images larger than this get no preview: decoding one would need hundreds of MB of pixels. */
const MAX_PREVIEW_SOURCE_BYTES = 50 * 1024 * 1024;

/** The largest plaintext whose sealed blob fits in `maxBlobBytes` (the SDK checks the same before sending). */
export function maxPlaintextBytes(maxBlobBytes: number): number {
  let size = Math.max(0, maxBlobBytes - sealedSize(0));
  while (size > 0 && sealedSize(size) > maxBlobBytes) size -= Math.max(1, sealedSize(size) - maxBlobBytes);
  return size;
}

/** "3.2 MB", "640 KB": sizes as people read them. */
export function readableSize(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
}

/** A File read slice by slice; the previewer recognises it and decodes the File itself. */
export class FileSource implements AsyncIterable<Uint8Array> {
  constructor(
    readonly file: Blob,
    private readonly onRead?: (bytes: number) => void,
  ) {}
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (let offset = 0; offset < this.file.size; offset += SLICE_BYTES) {
      const slice = new Uint8Array(await this.file.slice(offset, offset + SLICE_BYTES).arrayBuffer());
      this.onRead?.(slice.length);
      yield slice;
    }
  }
}

/**
 * The SDK's OutgoingFile for a File. `onProgress` gets the share of the work done (0…1): the SDK reads the
 * file once to hash the sealed stream and once to upload it.
 */
export function outgoingFile(file: File, onProgress?: (done: number) => void) {
  let read = 0;
  const total = Math.max(1, 2 * file.size);
  return {
    open: (): ByteSource => new FileSource(file, (n) => onProgress?.(Math.min(1, (read += n) / total))),
    size: file.size,
    name: file.name,
    mime: file.type || 'application/octet-stream',
  };
}

/** The browser's image previewer for the SDK (MessengerOptions.imagePreview). */
export const browserImagePreview: ImagePreviewer = async (open, mime) => {
  if (typeof OffscreenCanvas === 'undefined' || typeof createImageBitmap === 'undefined') return undefined;
  const source = open();
  // The File itself when it is one of ours (the browser decodes from it directly); else gathered, small things only.
  const blob = source instanceof FileSource ? source.file : await gather(source, mime);
  if (blob.size > MAX_PREVIEW_SOURCE_BYTES) return undefined;
  const bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image' });
  try {
    const scale = Math.min(1, PREVIEW_EDGE / Math.max(bitmap.width, bitmap.height));
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext('2d');
    if (!context) return undefined;
    context.imageSmoothingQuality = 'high';
    context.drawImage(bitmap, 0, 0, width, height);
    const webp = await canvas.convertToBlob({ type: 'image/webp', quality: 0.7 });
    // A browser without a WebP encoder answers PNG: the preview then goes as PNG.
    const type: ImagePreview['mime'] = webp.type === 'image/webp' ? 'image/webp' : 'image/png';
    return { bytes: new Uint8Array(await webp.arrayBuffer()), mime: type, width, height };
  } finally {
    bitmap.close();
  }
};

async function gather(source: ByteSource, type: string): Promise<Blob> {
  const parts: BlobPart[] = [];
  for await (const chunk of source as AsyncIterable<Uint8Array>) parts.push(new Blob([chunk as BlobPart]));
  return new Blob(parts, { type });
}

/** How much plaintext the page holds before folding it into the Blob (the browser's blob store). */
const FOLD_BYTES = 4 * 1024 * 1024;

/**
 * Downloads and checks an attachment as a stream, reporting the bytes verified so far; resolves to the
 * file only when every chunk and the whole-file hashes verified (else rejects with the SDK's reason).
 */
export async function downloadChecked(m: Messenger, groupId: string, file: FileContent, onProgress: (bytes: number) => void, signal?: AbortSignal): Promise<Blob> {
  let blob = new Blob([], { type: file.mime });
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  let done = 0;
  for await (const chunk of m.downloadFileStream(groupId, file)) {
    if (signal?.aborted) throw new DOMException('The download was cancelled.', 'AbortError');
    held.push(chunk);
    heldBytes += chunk.length;
    done += chunk.length;
    if (heldBytes >= FOLD_BYTES) {
      blob = new Blob([blob, ...(held as BlobPart[])], { type: file.mime });
      held = [];
      heldBytes = 0;
    }
    onProgress(done);
  }
  return new Blob([blob, ...(held as BlobPart[])], { type: file.mime });
}

/** Offers a Blob as a file to save. */
export function saveBlob(blob: Blob, name: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}
