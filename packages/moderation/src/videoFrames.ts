/**
 * Video frames from ffmpeg in one process: one decode, sampled at a rate, as full-size grey frames.
 *
 * ffmpeg writes the frames as a YUV4MPEG2 stream (the format's spec: https://wiki.multimedia.cx/index.php/YUV4MPEG2):
 * a header line giving the frame size (after ffmpeg's automatic rotation), then "FRAME\n" and width×height
 * bytes for each frame. The source's container, duration and frame rate are read from the input summary
 * ffmpeg prints on stderr before it decodes, so no ffprobe run is needed. Frames reach the caller as
 * ffmpeg decodes on: the caller's work overlaps the decoding.
 */
import { spawn } from 'node:child_process';
import { ContentError } from './errors.ts';

export interface VideoInfo {
  /** the decoded frames' size (after the rotation the container asks for) */
  width: number;
  height: number;
  /** the source's average frame rate (25 when the container states none) */
  fps: number;
  durationSeconds: number | null;
  /** ffmpeg's container name, e.g. "mov,mp4,m4a,3gp,3g2,mj2" or "matroska,webm" */
  formatName?: string;
}

export interface GreyFrameOptions {
  /** frames kept per second of video */
  framesPerSecond: number;
  /** frames larger than this many pixels are refused (by ffmpeg's decoder and by the stream header) */
  maxFramePixels: number;
  timeoutMs: number;
  ffmpeg?: string;
}

/**
 * Input options for a file someone else gave us: read it as a local file and only as a video container.
 * Without the demuxer list a "video" that is really a playlist or concat list (HLS, ffconcat) would make
 * ffmpeg open the other files or URLs it names, and we would hash or describe those.
 */
export const UNTRUSTED_VIDEO_INPUT: readonly string[] = [
  '-protocol_whitelist', 'file',
  '-format_whitelist', 'mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,ogg,avi,flv,asf,mpegts,mpeg,m4v,h264,hevc,gif',
]; // prettier-ignore

/**
 * ffmpeg's arguments for decoding `path` to grey frames at `framesPerSecond` on stdout. Exported so that
 * the benchmark times ffmpeg alone on exactly this decode.
 */
export function greyFrameArgs(path: string, framesPerSecond: number, maxFramePixels: number): string[] {
  return [
    '-hide_banner', '-nostats', '-nostdin', '-v', 'info',
    ...UNTRUSTED_VIDEO_INPUT, '-max_pixels', String(maxFramePixels),
    '-i', `file:${path}`,
    '-map', '0:v:0', '-vf', `fps=${framesPerSecond},format=gray`, '-f', 'yuv4mpegpipe', '-pix_fmt', 'gray', 'pipe:1',
  ]; // prettier-ignore
}

/**
 * Decodes `path` and calls `onFrame` for each sampled frame with a buffer that is reused for the next one
 * (copy what must outlive the call). Rejects with a ContentError: unsupported_format (not a video ffmpeg
 * reads, or no video stream), too_many_pixels, timeout, video_unreadable.
 */
export function decodeGreyFrames(path: string, options: GreyFrameOptions, onFrame: (grey: Uint8Array, width: number, height: number, index: number) => void): Promise<VideoInfo> {
  const ffmpeg = options.ffmpeg ?? 'ffmpeg';
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, greyFrameArgs(path, options.framesPerSecond, options.maxFramePixels), { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = new InputSummary();
    const frames = new Y4mReader(options.maxFramePixels, onFrame);
    let settled = false;
    const finish = (error: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        child.kill('SIGKILL');
        reject(error);
        return;
      }
      resolve({ width: frames.width, height: frames.height, fps: log.fps ?? 25, durationSeconds: log.durationSeconds, ...(log.formatName && { formatName: log.formatName }) });
    };
    const timer = setTimeout(() => finish(new ContentError('timeout', `${ffmpeg} did not finish within ${Math.round(options.timeoutMs / 1000)} s`)), options.timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      try {
        frames.push(chunk);
      } catch (error) {
        finish(error as Error);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => log.push(text));
    child.on('error', (error: NodeJS.ErrnoException) => {
      finish(error.code === 'ENOENT' ? new ContentError('ffmpeg_missing', `${ffmpeg} is not installed (Debian package "ffmpeg")`, { cause: error }) : error);
    });
    child.on('close', (code) => {
      log.end();
      if (code !== 0) finish(log.failure(path, ffmpeg, code));
      else if (frames.count === 0) finish(new ContentError('video_unreadable', `${path} yielded no frames`));
      else if (frames.partial) finish(new ContentError('video_unreadable', `${ffmpeg} ended in the middle of a frame`));
      else finish(null);
    });
  });
}

/** Cuts a YUV4MPEG2 stream of grey ("mono") frames into frames, one reused buffer. */
export class Y4mReader {
  width = 0;
  height = 0;
  count = 0;
  private header = '';
  private frame: Uint8Array | null = null;
  /** bytes of the current frame received; -1 while reading a "FRAME" line */
  private filled = -1;
  private frameLine = 0;

  constructor(
    private readonly maxFramePixels: number,
    private readonly onFrame: (grey: Uint8Array, width: number, height: number, index: number) => void,
  ) {}

  get partial(): boolean {
    return this.filled > 0 || this.frameLine > 0 || (this.frame === null && this.header.length > 0);
  }

  push(chunk: Uint8Array): void {
    let at = 0;
    if (this.frame === null) at = this.readHeader(chunk);
    while (this.frame !== null && at < chunk.length) {
      if (this.filled < 0) {
        // "FRAME" and optional parameters up to a newline
        const nl = chunk.indexOf(0x0a, at);
        const end = nl < 0 ? chunk.length : nl;
        this.frameLine += end - at;
        if (this.frameLine > 64) throw new ContentError('video_unreadable', 'ffmpeg wrote a malformed frame header');
        at = end;
        if (nl < 0) return;
        at++;
        this.frameLine = 0;
        this.filled = 0;
      }
      const frame = this.frame;
      const n = Math.min(frame.length - this.filled, chunk.length - at);
      frame.set(chunk.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
      if (this.filled === frame.length) {
        this.filled = -1;
        this.onFrame(frame, this.width, this.height, this.count++);
      }
    }
  }

  /** Reads the header line; returns where the frames begin in `chunk` (its length while the line goes on). */
  private readHeader(chunk: Uint8Array): number {
    const nl = chunk.indexOf(0x0a);
    this.header += Buffer.from(chunk.subarray(0, nl < 0 ? chunk.length : nl)).toString('latin1');
    if (this.header.length > 256) throw new ContentError('video_unreadable', 'ffmpeg wrote a malformed stream header');
    if (nl < 0) return chunk.length;
    const fields = this.header.split(' ');
    const field = (tag: string) => fields.find((f) => f.startsWith(tag))?.slice(1);
    const width = Number(field('W'));
    const height = Number(field('H'));
    if (fields[0] !== 'YUV4MPEG2' || !(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0) || field('C') !== 'mono') {
      throw new ContentError('video_unreadable', `ffmpeg wrote an unexpected stream header: ${this.header.slice(0, 80)}`);
    }
    if (width * height > this.maxFramePixels) throw new ContentError('too_many_pixels', `the video has ${width}×${height} frames, over the ${this.maxFramePixels}-pixel limit`);
    this.width = width;
    this.height = height;
    this.frame = new Uint8Array(width * height);
    return nl + 1;
  }
}

/**
 * What ffmpeg's input summary on stderr says about the source: "Input #0, <formats>, from …", "Duration:
 * hh:mm:ss.cc", and the first "Stream #0:n…: Video: …, <w>x<h> …, <fps> fps, <tbr> tbr" line. Lines are
 * matched from their start, so metadata values (printed indented after "key : ") cannot pose as them.
 * Only the last few lines are kept, for the error message.
 */
export class InputSummary {
  formatName?: string;
  durationSeconds: number | null = null;
  fps: number | null = null;
  sawInput = false;
  sawVideo = false;
  /** the video stream's size is known (a ".jpg" of text has a "video" stream without one) */
  sized = false;
  private pixelLimit = false;
  private partial = '';
  private readonly last: string[] = [];

  push(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop()!.slice(0, 4096);
    for (const line of lines) this.line(line.slice(0, 4096));
  }

  end(): void {
    if (this.partial) this.line(this.partial);
    this.partial = '';
  }

  private line(line: string): void {
    line = line.replace(/\r$/, '');
    if (line.trim()) {
      this.last.push(line.trim());
      if (this.last.length > 4) this.last.shift();
    }
    if (/exceeds specified max pixel count/.test(line)) this.pixelLimit = true;
    const input = /^Input #0, (.+?), from '/.exec(line);
    if (input) {
      this.sawInput = true;
      this.formatName = input[1];
      return;
    }
    const duration = /^ {2}Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)/.exec(line);
    if (duration && this.sawInput && !this.sawVideo) {
      this.durationSeconds = Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3]);
      return;
    }
    if (this.sawInput && !this.sawVideo && /^ {2}Stream #0:\d+\S*: Video: /.test(line)) {
      this.sawVideo = true;
      this.sized = /, \d+x\d+\b/.test(line);
      this.fps = rate(/, ([\d.]+k?) fps\b/.exec(line)?.[1]) ?? rate(/, ([\d.]+k?) tbr\b/.exec(line)?.[1]);
    }
  }

  /** The error for ffmpeg's non-zero exit, from what it printed. */
  failure(path: string, ffmpeg: string, code: number | null): ContentError {
    if (this.pixelLimit) return new ContentError('too_many_pixels', `${path} has frames over the pixel limit`);
    if (!this.sawInput || (this.sawVideo && !this.sized)) return new ContentError('unsupported_format', `${path} is not a video ffmpeg can read`);
    if (!this.sawVideo) return new ContentError('unsupported_format', `${path} has no video stream`);
    return new ContentError('video_unreadable', `${ffmpeg} failed: ${this.last.at(-1) ?? `exit ${code}`}`);
  }
}

/**
 * A rate as ffmpeg prints it: two decimals at most ("29.97"), or "90k". The NTSC family (n·1000/1001:
 * 23.976, 29.97, 59.94) is restored to its exact value, so frame numbers stay right over long videos.
 */
export function rate(text: string | undefined): number | null {
  if (!text) return null;
  const value = text.endsWith('k') ? Number(text.slice(0, -1)) * 1000 : Number(text);
  if (!(Number.isFinite(value) && value > 0)) return null;
  if (Number.isInteger(value)) return value;
  const ntsc = (Math.round(value * 1.001) * 1000) / 1001;
  return Math.abs(ntsc - value) < 0.005 ? ntsc : value;
}
