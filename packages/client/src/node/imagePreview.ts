/**
 * Image previews made on the sender's device (Node): sharp (libvips) decodes the image from the file's
 * stream and writes a WebP thumbnail at most 320 px on its longer side. Node-only (native module); browsers
 * make theirs with a canvas.
 */
import { Readable } from 'node:stream';
import sharp from 'sharp';
import type { ImagePreview } from '../core/types.ts';
import { iterate, type ByteSource } from '../envelope/attachmentStream.ts';

const EDGE = 320;
/** Refuse images whose pixel count would make the decoder allocate without bound (sharp's default is 268 MP). */
const MAX_PIXELS = 100_000_000;

export async function imagePreview(open: () => ByteSource): Promise<ImagePreview | undefined> {
  const decoder = sharp({ limitInputPixels: MAX_PIXELS, failOn: 'error' })
    .rotate() // honour EXIF orientation, then drop the metadata (no location leaves in the preview)
    .resize(EDGE, EDGE, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 70 });
  const source = Readable.from(iterate(open()));
  source.on('error', (error) => decoder.destroy(error));
  source.pipe(decoder);
  const { data, info } = await decoder.toBuffer({ resolveWithObject: true });
  return { bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), mime: 'image/webp', width: info.width, height: info.height };
}
