/**
 * Video hasher: vPDQ (Meta, facebook/ThreatExchange `vpdq/`). Frames are sampled with ffmpeg (default one
 * per second), each frame is PDQ-hashed, and the features are kept in order; matching (vpdqFormat.ts)
 * deduplicates and quality-filters them.
 *
 * The hashing pass is one ffmpeg process that does all the pixel work PDQ does not need JavaScript for:
 * sampling (fps), cropping the bars, downscaling to at most `frameSize` px a side (area averaging, the
 * downsampling vpdq's own `-d` option offers) and taking the luminance (full-range grey), so what
 * reaches JavaScript is a small grey frame to hash while ffmpeg decodes the next one. PDQ smooths and
 * decimates every frame to 64×64 anyway; hashes agree with full-size RGB hashing within a few bits
 * (test/vpdq.test.ts), far inside the match distance. `frameSize: 0` hashes full-size grey frames.
 *
 * Before hashing, letterbox and pillarbox bars are detected and cropped: a bar is a run of edge rows (or
 * columns) that are uniform in every sampled frame and keep one colour over time. Without this, the same
 * footage letterboxed and not does not match at all (the reference's own sample files show 0%).
 * Bars are detected in a first pass over at most `detectFrames` key frames (or sampled frames, when a
 * video has few key frames), then the hashing pass
 * crops each frame; memory stays at one frame.
 */
import { spawn } from 'node:child_process';
import { ContentError } from './errors.ts';
import { pdqFromLuma } from './pdq.ts';
import { lumaOf } from './pdqWasm.ts';
import { checkFile } from './image.ts';
import type { VpdqFeature } from './vpdqFormat.ts';

/** Key frames enough to find bars from; with fewer, the sampled frames are examined instead. */
const MIN_KEYFRAMES = 8;

export interface VideoOptions {
  /** sampling rate in frames per second (vPDQ's default is one hash per second) */
  framesPerSecond?: number;
  /** detect and crop uniform bars before hashing (default true) */
  removeLetterbox?: boolean;
  /** frames examined to find bars (default 60) */
  detectFrames?: number;
  /** give up on a video after this long (default 10 minutes) */
  timeoutMs?: number;
  /** refuse frames larger than this many pixels (default 8K UHD) */
  maxFramePixels?: number;
  /** frames are hashed downscaled to at most this many pixels a side (default 512; 0 = full size) */
  frameSize?: number;
  ffmpeg?: string;
  ffprobe?: string;
}

export interface VideoInfo {
  width: number;
  height: number;
  fps: number;
  durationSeconds: number | null;
  /** ffprobe's container name, e.g. "mov,mp4,m4a,3gp,3g2,mj2" or "matroska,webm" */
  formatName?: string;
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

function run(cmd: string, args: string[], timeoutMs: number, onStdout?: (chunk: Buffer) => void): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    let settled = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new ContentError('timeout', `${cmd} did not finish within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    const finish = (error: Error | null, result?: { stdout: Buffer; stderr: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(result!);
    };
    child.stdout.on('data', (chunk: Buffer) => {
      try {
        if (onStdout) onStdout(chunk);
        else out.push(chunk);
      } catch (error) {
        child.kill('SIGKILL');
        finish(error as Error);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 10_000) stderr += chunk.toString();
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      finish(error.code === 'ENOENT' ? new ContentError('ffmpeg_missing', `${cmd} is not installed (Debian package "ffmpeg")`, { cause: error }) : error);
    });
    child.on('close', (code) => {
      if (code === 0) finish(null, { stdout: Buffer.concat(out), stderr });
      else finish(new ContentError('video_unreadable', `${cmd} failed: ${stderr.trim().split('\n').slice(-1)[0] ?? `exit ${code}`}`));
    });
  });
}

/** Reads the first video stream's size and frame rate with ffprobe. */
export async function probeVideo(path: string, options: VideoOptions = {}): Promise<VideoInfo> {
  await checkFile(path); // empty / missing files get the shared errors
  const { stdout } = await run(
    options.ffprobe ?? 'ffprobe',
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,avg_frame_rate,r_frame_rate:format=duration,format_name', '-of', 'json', path],
    60_000,
  ).catch((error: unknown) => {
    if (error instanceof ContentError && error.code === 'video_unreadable') throw new ContentError('unsupported_format', `${path} is not a video ffmpeg can read`, { cause: error });
    throw error;
  });
  const json = JSON.parse(stdout.toString()) as { streams?: Array<{ width?: number; height?: number; avg_frame_rate?: string; r_frame_rate?: string }>; format?: { duration?: string; format_name?: string } };
  const stream = json.streams?.[0];
  if (!stream?.width || !stream.height) throw new ContentError('unsupported_format', `${path} has no video stream`);
  const rate = (r?: string) => {
    const [n, d] = (r ?? '').split('/').map(Number);
    return n && d ? n / d : 0;
  };
  const duration = Number(json.format?.duration);
  return {
    width: stream.width,
    height: stream.height,
    fps: rate(stream.avg_frame_rate) || rate(stream.r_frame_rate) || 25,
    durationSeconds: Number.isFinite(duration) ? duration : null,
    ...(json.format?.format_name && { formatName: json.format.format_name }),
  };
}

/**
 * Streams frames as RGB24 buffers of width×height×3: sampled at `framesPerSecond`, or with `keyframes`
 * only the key frames (which ffmpeg decodes without the frames between them). The buffer passed to
 * `onFrame` is reused for the next frame: use it before returning.
 */
async function eachFrame(path: string, info: VideoInfo, options: VideoOptions, maxFrames: number | null, onFrame: (rgb: Uint8Array, index: number) => void, keyframes = false): Promise<number> {
  const fps = options.framesPerSecond ?? 1;
  const args = keyframes
    ? ['-v', 'error', '-nostdin', '-skip_frame', 'nokey', '-i', path, '-map', '0:v:0', '-vsync', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24']
    : ['-v', 'error', '-nostdin', '-i', path, '-map', '0:v:0', '-vf', `fps=${fps}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24'];
  if (maxFrames !== null) args.push('-frames:v', String(maxFrames));
  args.push('pipe:1');
  return streamFrames(options.ffmpeg ?? 'ffmpeg', args, info.width * info.height * 3, options, onFrame);
}

/** The size frames are hashed at: the crop, scaled down (aspect kept) until neither side exceeds `limit`. */
export function hashedSize(crop: Crop, limit: number): { width: number; height: number } {
  const scale = limit > 0 ? Math.min(1, limit / Math.max(crop.width, crop.height)) : 1;
  return { width: Math.max(1, Math.round(crop.width * scale)), height: Math.max(1, Math.round(crop.height * scale)) };
}

/**
 * The hashing pass: ffmpeg samples, crops, downscales and greys each frame (see the top of this file) and
 * streams width×height bytes a frame; `onFrame` gets one reused buffer, to use before returning.
 */
async function eachGreyFrame(path: string, crop: Crop, size: { width: number; height: number }, options: VideoOptions, onFrame: (grey: Uint8Array, index: number) => void): Promise<number> {
  const fps = options.framesPerSecond ?? 1;
  // grey first: the crop is then exact to the pixel (no chroma subsampling to round it to)
  const filters = [`fps=${fps}`, 'format=gray', `crop=${crop.width}:${crop.height}:${crop.x}:${crop.y}`];
  if (size.width !== crop.width || size.height !== crop.height) filters.push(`scale=${size.width}:${size.height}:flags=area`);
  const args = ['-v', 'error', '-nostdin', '-i', path, '-map', '0:v:0', '-vf', filters.join(','), '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'];
  return streamFrames(options.ffmpeg ?? 'ffmpeg', args, size.width * size.height, options, onFrame);
}

/** Runs ffmpeg and cuts its raw output into frames of `frameBytes`, copied into one reused buffer. */
async function streamFrames(ffmpeg: string, args: string[], frameBytes: number, options: VideoOptions, onFrame: (frame: Uint8Array, index: number) => void): Promise<number> {
  const frame = Buffer.allocUnsafe(frameBytes);
  let filled = 0;
  let index = 0;
  await run(ffmpeg, args, options.timeoutMs ?? 600_000, (chunk) => {
    // the pipe delivers 64 KiB at a time
    for (let at = 0; at < chunk.length; ) {
      const n = Math.min(frameBytes - filled, chunk.length - at);
      chunk.copy(frame, filled, at, at + n);
      filled += n;
      at += n;
      if (filled === frameBytes) {
        onFrame(frame, index++);
        filled = 0;
      }
    }
  });
  return index;
}

/** Tracks edge rows/columns that stay uniform and one colour over all frames seen. */
export class LetterboxDetector {
  private readonly rowColour: Int16Array;
  private readonly colColour: Int16Array;
  private readonly rowBar: Uint8Array;
  private readonly colBar: Uint8Array;
  private frames = 0;

  constructor(
    readonly width: number,
    readonly height: number,
    /** max spread of a channel within a bar line, and drift of its colour between frames */
    readonly tolerance = 24,
  ) {
    this.rowColour = new Int16Array(height * 3);
    this.colColour = new Int16Array(width * 3);
    this.rowBar = new Uint8Array(height).fill(1);
    this.colBar = new Uint8Array(width).fill(1);
  }

  addFrame(rgb: Uint8Array): void {
    const { width: w, height: h } = this;
    const line = (start: number, step: number, n: number, colour: Int16Array, at: number, bar: Uint8Array, id: number) => {
      if (!bar[id]) return;
      let lo0 = 255, lo1 = 255, lo2 = 255, hi0 = 0, hi1 = 0, hi2 = 0; // prettier-ignore
      let s0 = 0, s1 = 0, s2 = 0; // prettier-ignore
      for (let k = 0, p = start; k < n; k++, p += step) {
        const r = rgb[p]!, g = rgb[p + 1]!, b = rgb[p + 2]!; // prettier-ignore
        if (r < lo0) lo0 = r;
        if (r > hi0) hi0 = r;
        if (g < lo1) lo1 = g;
        if (g > hi1) hi1 = g;
        if (b < lo2) lo2 = b;
        if (b > hi2) hi2 = b;
        s0 += r;
        s1 += g;
        s2 += b;
      }
      const t = this.tolerance;
      if (hi0 - lo0 > t || hi1 - lo1 > t || hi2 - lo2 > t) {
        bar[id] = 0;
        return;
      }
      const mean = [Math.round(s0 / n), Math.round(s1 / n), Math.round(s2 / n)];
      for (let c = 0; c < 3; c++) {
        if (this.frames === 0) colour[at + c] = mean[c]!;
        else if (Math.abs(colour[at + c]! - mean[c]!) > t) bar[id] = 0;
      }
    };
    for (let y = 0; y < h; y++) line(y * w * 3, 3, w, this.rowColour, y * 3, this.rowBar, y);
    for (let x = 0; x < w; x++) line(x * 3, w * 3, h, this.colColour, x * 3, this.colBar, x);
    this.frames++;
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

/** vPDQ features of a video file (one per sampled frame, in order, before deduplication). */
export async function vpdqHashVideo(path: string, options: VideoOptions = {}): Promise<VpdqHashResult> {
  const info = await probeVideo(path, options);
  const maxPixels = options.maxFramePixels ?? 7680 * 4320;
  if (info.width * info.height > maxPixels) {
    throw new ContentError('too_many_pixels', `${path} has ${info.width}×${info.height} frames, over the ${maxPixels}-pixel limit`);
  }
  let crop: Crop = { x: 0, y: 0, width: info.width, height: info.height };
  if (options.removeLetterbox ?? true) {
    // Bars are looked for in the key frames first: spread over the whole video and decoded without the
    // frames between them, so finding bars costs little beside the hashing pass. A video with too few
    // key frames (short clips) is examined on its sampled frames instead, decoding up to detectFrames
    // sampled seconds a second time.
    const detectFrames = options.detectFrames ?? 60;
    let detector = new LetterboxDetector(info.width, info.height);
    const keyframes = await eachFrame(path, info, options, detectFrames, (rgb) => detector.addFrame(rgb), true);
    if (keyframes < Math.min(MIN_KEYFRAMES, detectFrames)) {
      detector = new LetterboxDetector(info.width, info.height);
      await eachFrame(path, info, options, detectFrames, (rgb) => detector.addFrame(rgb));
    }
    crop = detector.crop();
  }
  const fps = options.framesPerSecond ?? 1;
  const features: VpdqFeature[] = [];
  const size = hashedSize(crop, options.frameSize ?? 512);
  await eachGreyFrame(path, crop, size, options, (grey, index) => {
    const { hash, quality } = pdqFromLuma(lumaOf(grey, size.width, size.height, 1), size.width, size.height);
    const timestamp = index / fps;
    features.push({ frame: Math.round(timestamp * info.fps), quality, hash, timestamp });
  });
  if (features.length === 0) throw new ContentError('video_unreadable', `${path} yielded no frames`);
  return { info, crop, features };
}
