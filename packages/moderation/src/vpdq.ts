/**
 * Video hasher: vPDQ (Meta, facebook/ThreatExchange `vpdq/`). Frames are sampled with ffmpeg (default one
 * per second), each frame is PDQ-hashed, and the features are kept in order; matching (vpdqFormat.ts)
 * deduplicates and quality-filters them.
 *
 * One ffmpeg process per video decodes it once (videoFrames.ts): sampling (`fps`) and the luminance
 * (full-range grey) are done there, and each full-size grey frame is hashed here while ffmpeg decodes
 * the next. The hash is PDQ's own of that grey plane (PDQ reads a one-channel image as its luminance),
 * within a few bits of hashing the frame's RGB (test/vpdq.test.ts).
 *
 * Before hashing, letterbox and pillarbox bars are detected and cropped: a bar is a run of edge rows (or
 * columns) that are uniform in every examined frame and keep one grey level over time. Without this, the
 * same footage letterboxed and not does not match at all (the reference's own sample files show 0%).
 * The bars are found from the first `detectFrames` sampled frames, which are held (full size, at most
 * `detectBytes` of them) until the crop is known. Each is hashed on arrival with the bars found so far,
 * and re-hashed at the end of the window only if the bars found by then differ (a dark opening shot):
 * hashing keeps pace with decoding, and memory stays at the detection window.
 */
import { ContentError } from './errors.ts';
import { checkFile } from './image.ts';
import { pdqFromLuma, type PdqResult } from './pdq.ts';
import { lumaOfGreyRegion } from './pdqWasm.ts';
import { decodeGreyFrames, type VideoInfo } from './videoFrames.ts';
import type { VpdqFeature } from './vpdqFormat.ts';

export type { VideoInfo } from './videoFrames.ts';

export interface VideoOptions {
  /** sampling rate in frames per second (vPDQ's default is one hash per second) */
  framesPerSecond?: number;
  /** detect and crop uniform bars before hashing (default true) */
  removeLetterbox?: boolean;
  /** sampled frames examined to find bars (default 60: the first minute at one frame a second) */
  detectFrames?: number;
  /** at most this many bytes of frames are held while the bars are looked for (default 128 MiB) */
  detectBytes?: number;
  /** give up on a video after this long (default 10 minutes) */
  timeoutMs?: number;
  /** refuse frames larger than this many pixels (default 8K UHD) */
  maxFramePixels?: number;
  ffmpeg?: string;
}

export interface Crop {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface VpdqHashResult {
  info: VideoInfo;
  crop: Crop;
  features: VpdqFeature[];
}

/** vPDQ features of a video file (one per sampled frame, in order, before deduplication). */
export async function vpdqHashVideo(path: string, options: VideoOptions = {}): Promise<VpdqHashResult> {
  await checkFile(path); // empty / missing files get the shared errors
  const fps = options.framesPerSecond ?? 1;
  const detectFrames = (options.removeLetterbox ?? true) ? Math.max(0, options.detectFrames ?? 60) : 0;
  const detectBytes = options.detectBytes ?? 128 * 2 ** 20;
  const hashes: Array<PdqResult & { crop: Crop }> = [];
  const hashFrame = (grey: Uint8Array, width: number, crop: Crop) => ({ crop, ...pdqFromLuma(lumaOfGreyRegion(grey, width, crop), crop.width, crop.height) });
  let crop: Crop | null = null;
  let detector: LetterboxDetector | null = null;
  let held: Uint8Array[] = [];
  let window = 0;
  // The bars are known: the frames held while looking for them were hashed with the crop known then
  // (usually already the final one, so hashing kept pace with decoding); those hashed otherwise are redone.
  const settle = (width: number, height: number) => {
    const final = detector ? detector.crop() : { x: 0, y: 0, width, height };
    held.forEach((frame, index) => {
      if (!sameCrop(hashes[index]!.crop, final)) hashes[index] = hashFrame(frame, width, final);
    });
    held = [];
    crop = final;
  };
  const info = await decodeGreyFrames(
    path,
    { framesPerSecond: fps, maxFramePixels: options.maxFramePixels ?? 7680 * 4320, timeoutMs: options.timeoutMs ?? 600_000, ...(options.ffmpeg && { ffmpeg: options.ffmpeg }) },
    (grey, width, height, index) => {
      if (index === 0) {
        window = Math.min(detectFrames, Math.max(1, Math.floor(detectBytes / grey.length)));
        if (detectFrames > 0) detector = new LetterboxDetector(width, height, 1);
        else settle(width, height);
      }
      if (crop) {
        hashes.push(hashFrame(grey, width, crop));
        return;
      }
      detector!.addFrame(grey);
      held.push(grey.slice());
      hashes.push(hashFrame(grey, width, detector!.crop()));
      if (held.length >= window) settle(width, height);
    },
  );
  if (!crop) settle(info.width, info.height);
  if (hashes.length === 0) throw new ContentError('video_unreadable', `${path} yielded no frames`);
  const features: VpdqFeature[] = hashes.map(({ hash, quality }, index) => {
    const timestamp = index / fps;
    return { frame: Math.round(timestamp * info.fps), quality, hash, timestamp };
  });
  return { info, crop: crop!, features };
}

function sameCrop(a: Crop, b: Crop): boolean {
  return a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height;
}

/** Tracks edge rows/columns that stay uniform and one colour over all frames seen (grey or RGB pixels). */
export class LetterboxDetector {
  private readonly rowColour: Int16Array;
  private readonly colColour: Int16Array;
  private readonly rowBar: Uint8Array;
  private readonly colBar: Uint8Array;
  private frames = 0;

  constructor(
    readonly width: number,
    readonly height: number,
    /** 1 (grey) or 3 (RGB) interleaved channels */
    readonly channels: 1 | 3 = 3,
    /** max spread of a channel within a bar line, and drift of its colour between frames */
    readonly tolerance = 24,
  ) {
    this.rowColour = new Int16Array(height * channels);
    this.colColour = new Int16Array(width * channels);
    this.rowBar = new Uint8Array(height).fill(1);
    this.colBar = new Uint8Array(width).fill(1);
  }

  addFrame(pixels: Uint8Array): void {
    const { width: w, height: h, channels: c } = this;
    if (pixels.length < w * h * c) throw new RangeError(`frame holds ${pixels.length} bytes, ${w}×${h}×${c} needs ${w * h * c}`);
    // lines already known to be content are not looked at again
    for (let y = 0; y < h; y++) if (this.rowBar[y]) this.line(pixels, y * w * c, c, w, this.rowColour, y * c, this.rowBar, y);
    for (let x = 0; x < w; x++) if (this.colBar[x]) this.line(pixels, x * c, w * c, h, this.colColour, x * c, this.colBar, x);
    this.frames++;
  }

  /** One row or column: still a bar if every channel is uniform along it and keeps its first frame's mean. */
  private line(pixels: Uint8Array, start: number, step: number, n: number, colour: Int16Array, at: number, bar: Uint8Array, id: number): void {
    const t = this.tolerance;
    for (let ch = 0; ch < this.channels; ch++) {
      let lo = 255;
      let hi = 0;
      let sum = 0;
      for (let k = 0, p = start + ch; k < n; k++, p += step) {
        const v = pixels[p]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
        if (hi - lo > t) {
          bar[id] = 0;
          return;
        }
        sum += v;
      }
      const mean = Math.round(sum / n);
      if (this.frames === 0) colour[at + ch] = mean;
      else if (Math.abs(colour[at + ch]! - mean) > t) {
        bar[id] = 0;
        return;
      }
    }
  }

  /** The content rectangle; the whole frame when there are no bars (or the frame is all "bar"). */
  crop(): Crop {
    const { width: w, height: h } = this;
    const whole = { x: 0, y: 0, width: w, height: h };
    if (this.frames === 0) return whole;
    let top = 0;
    while (top < h && this.rowBar[top]) top++;
    let bottom = h;
    while (bottom > top && this.rowBar[bottom - 1]) bottom--;
    let left = 0;
    while (left < w && this.colBar[left]) left++;
    let right = w;
    while (right > left && this.colBar[right - 1]) right--;
    // A blank (all-uniform) video, or "content" too thin to be a picture: leave it alone.
    if (bottom - top < h / 8 || right - left < w / 8) return whole;
    return { x: left, y: top, width: right - left, height: bottom - top };
  }
}

export function cropRgb(rgb: Uint8Array, width: number, crop: Crop): Uint8Array {
  if (crop.x === 0 && crop.y === 0 && crop.width === width) return rgb.subarray(0, crop.width * crop.height * 3);
  const out = new Uint8Array(crop.width * crop.height * 3);
  for (let y = 0; y < crop.height; y++) {
    const from = ((crop.y + y) * width + crop.x) * 3;
    out.set(rgb.subarray(from, from + crop.width * 3), y * crop.width * 3);
  }
  return out;
}

