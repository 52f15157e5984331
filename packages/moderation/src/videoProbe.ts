/**
 * What a video file is, read with ffprobe without decoding it: container, first video stream's size and
 * frame rate, duration. The channels' upload path uses it to sniff and limit videos; vPDQ hashing reads
 * the same facts from its own ffmpeg run instead (videoFrames.ts).
 */
import { spawn } from 'node:child_process';
import { ContentError } from './errors.ts';
import { checkFile } from './image.ts';
import { UNTRUSTED_VIDEO_INPUT, type VideoInfo } from './videoFrames.ts';

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
export async function probeVideo(path: string, options: { ffprobe?: string } = {}): Promise<VideoInfo> {
  await checkFile(path); // empty / missing files get the shared errors
  const { stdout } = await run(
    options.ffprobe ?? 'ffprobe',
    ['-v', 'error', ...UNTRUSTED_VIDEO_INPUT, '-select_streams', 'v:0', '-show_entries', 'stream=width,height,avg_frame_rate,r_frame_rate:format=duration,format_name', '-of', 'json', `file:${path}`],
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
