import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FormatError } from '../src/errors.ts';
import { PdqHash } from '../src/pdqHash.ts';
import { lumaFromPixels, pdqFromLuma, pdqFromRgb } from '../src/pdq.ts';
import { rate } from '../src/videoFrames.ts';
import { probeVideo } from '../src/videoProbe.ts';
import { LetterboxDetector, vpdqHashVideo } from '../src/vpdq.ts';
import { formatVpdqHashFile, formatVpdqSignal, matchVpdq, parseVpdqHashFile, parseVpdqSignal } from '../src/vpdqFormat.ts';
import { PDQ_REFERENCE, hasPdqReference } from './shared.ts';

describe.skipIf(!hasPdqReference)("vPDQ on Meta's sample hash files", () => {
  const load = (name: string) => parseVpdqHashFile(readFileSync(join(PDQ_REFERENCE, 'vpdq', `${name}.txt`), 'utf8'));

  it('reproduces every match / no-match stated in the reference README', () => {
    const greyBar = matchVpdq(load('chair-22-sd-grey-bar'), load('chair-orig-22-sd-bar'));
    expect(greyBar).toEqual({ queryMatchPercent: 100, targetMatchPercent: 100, match: true });
    const smallLogo = matchVpdq(load('pattern-sd-with-small-logo-bar'), load('pattern-sd-grey-bar'));
    expect(smallLogo.match).toBe(true);
    expect(smallLogo.queryMatchPercent.toFixed(1)).toBe('99.5');
    const largeLogo = matchVpdq(load('chair-22-with-large-logo-bar'), load('chair-orig-22-sd-bar'));
    expect(largeLogo.match).toBe(false);
    expect(Math.round(largeLogo.queryMatchPercent)).toBe(11); // "about 10%"
    expect(Math.round(largeLogo.targetMatchPercent)).toBe(10);
    for (const [sd, hd] of [['chair-orig-22-sd-bar', 'chair-orig-22-hd-no-bar'], ['pattern-sd-grey-bar', 'pattern-hd-no-bar']]) {
      expect(matchVpdq(load(sd!), load(hd!))).toEqual({ queryMatchPercent: 0, targetMatchPercent: 0, match: false });
    }
    console.log(`vPDQ reference: grey bar 100%, small logo ${smallLogo.queryMatchPercent.toFixed(1)}%, large logo ${largeLogo.queryMatchPercent.toFixed(1)}%, letterboxed SD vs HD 0%`);
  });

  it('reads and writes the hash-file format byte for byte', () => {
    for (const name of ['chair-22-sd-grey-bar', 'doorknob-hd-no-bar', 'pattern-hd-no-bar']) {
      const text = readFileSync(join(PDQ_REFERENCE, 'vpdq', `${name}.txt`), 'utf8');
      expect(formatVpdqHashFile(parseVpdqHashFile(text))).toBe(text.replace(/\r\n/g, '\n'));
    }
  });
});

describe('vPDQ formats', () => {
  const features = [
    { frame: 0, quality: 100, hash: PdqHash.fromHex('ab'.repeat(32)), timestamp: 0 },
    { frame: 30, quality: 40, hash: PdqHash.fromHex('cd'.repeat(32)), timestamp: 1.001 },
  ];

  it("round-trips HMA's signal string", () => {
    const s = formatVpdqSignal(features);
    expect(JSON.parse(s)).toEqual([`${'ab'.repeat(32)},100,0.000`, `${'cd'.repeat(32)},40,1.001`]);
    expect(parseVpdqSignal(s).map((f) => [f.hash.toHex(), f.quality, f.timestamp])).toEqual(features.map((f) => [f.hash.toHex(), f.quality, f.timestamp]));
  });

  it('rejects malformed hash files with the line', () => {
    expect(() => parseVpdqHashFile(`0,100,${'ab'.repeat(32)},0.000\n1,101,${'ab'.repeat(32)},1.000\n`)).toThrow(/line 2: quality/);
    expect(() => parseVpdqHashFile('0,100,xyz,0\n')).toThrow(FormatError);
    expect(() => parseVpdqHashFile('\n')).toThrow(/empty/);
    expect(() => parseVpdqSignal('[1]')).toThrow(/not a string/);
  });

  it('ignores frames below quality 50 and duplicate frames when matching', () => {
    const low = [{ ...features[1]!, quality: 49 }];
    expect(matchVpdq(low, low)).toEqual({ queryMatchPercent: 0, targetMatchPercent: 0, match: false });
    const dupes = [features[0]!, features[0]!, features[0]!];
    expect(matchVpdq(dupes, [features[0]!])).toEqual({ queryMatchPercent: 100, targetMatchPercent: 100, match: true });
  });
});

describe('vPDQ from video with ffmpeg, and letterbox removal', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dl-vpdq-'));
  const clean = join(dir, 'clean.mp4');
  const boxed = join(dir, 'boxed.mp4');
  const pillar = join(dir, 'pillar.mp4');
  const keyed = join(dir, 'boxed-keyframes.mp4');
  /** An ffmpeg that records its arguments, a line a run, in `log`. */
  const recordingFfmpeg = (log: string) => {
    const wrapper = `${log}.sh`;
    writeFileSync(wrapper, `#!/bin/sh\necho "$@" >> ${log}\nexec ffmpeg "$@"\n`, { mode: 0o755 });
    return wrapper;
  };

  beforeAll(() => {
    const ffmpeg = (...args: string[]) => execFileSync('ffmpeg', ['-v', 'error', '-y', ...args], { timeout: 60_000 });
    const h264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];
    ffmpeg('-f', 'lavfi', '-i', 'testsrc=duration=6:size=320x240:rate=10', ...h264, clean);
    // the same footage shrunk into a 16:9-style frame with black bars above and below
    ffmpeg('-i', clean, '-vf', 'scale=320:180,pad=320:240:0:30:black', ...h264, boxed);
    // and with grey pillars left and right
    ffmpeg('-i', clean, '-vf', 'scale=240:240,pad=320:240:40:0:0x808080', ...h264, pillar);
    // letterboxed, with a key frame every 5 frames
    ffmpeg('-i', clean, '-vf', 'scale=320:180,pad=320:240:0:30:black', ...h264, '-g', '5', '-keyint_min', '5', keyed);
  });

  it('samples one frame a second and hashes each with PDQ', async () => {
    const { features, info, crop } = await vpdqHashVideo(clean);
    expect(info).toMatchObject({ width: 320, height: 240, fps: 10 });
    expect(crop).toEqual({ x: 0, y: 0, width: 320, height: 240 });
    expect(features.map((f) => f.timestamp)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(features.map((f) => f.frame)).toEqual([0, 10, 20, 30, 40, 50]);
    expect(features.every((f) => f.quality >= 50)).toBe(true);
    const twice = await vpdqHashVideo(clean, { framesPerSecond: 2 });
    expect(twice.features).toHaveLength(12);
  });

  it('matches the letterboxed and pillarboxed versions only after the bars are removed', async () => {
    const original = (await vpdqHashVideo(clean)).features;
    const withRemoval = await vpdqHashVideo(boxed);
    expect(withRemoval.crop).toEqual({ x: 0, y: 30, width: 320, height: 180 });
    const without = await vpdqHashVideo(boxed, { removeLetterbox: false });
    const after = matchVpdq(original, withRemoval.features);
    const before = matchVpdq(original, without.features);
    console.log(`letterbox: ${before.queryMatchPercent.toFixed(0)}% of frames match before removal, ${after.queryMatchPercent.toFixed(0)}% after`);
    expect(before.match).toBe(false);
    expect(after.match).toBe(true);
    const pillared = await vpdqHashVideo(pillar);
    expect(pillared.crop).toEqual({ x: 40, y: 0, width: 240, height: 240 });
    expect(matchVpdq(original, pillared.features).match).toBe(true);
    expect(matchVpdq(original, (await vpdqHashVideo(pillar, { removeLetterbox: false })).features).match).toBe(false);
  });

  it('hashes each frame exactly as PDQ hashes the grey crop ffmpeg would cut, bit for bit', async () => {
    const { features, crop } = await vpdqHashVideo(boxed);
    // the same frames cut by ffmpeg itself (grey first, then the crop) and hashed whole
    const grey = execFileSync('ffmpeg', ['-v', 'error', '-i', boxed, '-vf', `fps=1,format=gray,crop=${crop.width}:${crop.height}:${crop.x}:${crop.y}`, '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1']);
    const size = crop.width * crop.height;
    expect(features).toHaveLength(grey.length / size);
    const expected = features.map((_, i) => pdqFromLuma(lumaFromPixels(grey.subarray(i * size, (i + 1) * size), crop.width, crop.height, 1), crop.width, crop.height));
    expect(features.map((f) => [f.hash.toHex(), f.quality])).toEqual(expected.map((e) => [e.hash.toHex(), e.quality]));
  });

  it('decodes HD video once, in one ffmpeg process, within a few bits of full-size RGB hashing', async () => {
    const hd = join(dir, 'hd.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=duration=4:size=1280x720:rate=10', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', hd]);
    const log = join(dir, 'ffmpeg-hd.txt');
    const { features } = await vpdqHashVideo(hd, { ffmpeg: recordingFfmpeg(log), removeLetterbox: false });
    const runs = readFileSync(log, 'utf8').trim().split('\n');
    expect(runs).toHaveLength(1); // one process: no ffprobe (it is not on the wrapper's path either), no second pass
    expect(runs[0]).toContain('fps=1,format=gray');
    expect(runs[0]).toContain('-f yuv4mpegpipe -pix_fmt gray');
    // the same frames decoded whole to RGB and hashed at full size, as vpdq's reference does
    const rgb = execFileSync('ffmpeg', ['-v', 'error', '-i', hd, '-vf', 'fps=1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 1 << 26 });
    const frame = 1280 * 720 * 3;
    expect(features).toHaveLength(rgb.length / frame);
    const distances = features.map((f, i) => f.hash.distance(pdqFromRgb(rgb.subarray(i * frame, (i + 1) * frame), 1280, 720).hash));
    console.log(`HD frames, full-size grey vs full-size RGB: ${distances.join(', ')} bits apart`);
    expect(Math.max(...distances)).toBeLessThanOrEqual(16);
  });

  it('finds the bars from the first sampled frames, holding no more of them than detectFrames and detectBytes allow', async () => {
    const log = join(dir, 'ffmpeg-keyed.txt');
    const result = await vpdqHashVideo(keyed, { ffmpeg: recordingFfmpeg(log) });
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(1);
    expect(result.crop).toEqual({ x: 0, y: 30, width: 320, height: 180 });
    for (const options of [{ detectFrames: 1 }, { detectFrames: 3 }, { detectBytes: 320 * 240 * 2 }, { detectBytes: 1 }]) {
      const windowed = await vpdqHashVideo(keyed, options);
      expect(windowed.crop).toEqual(result.crop);
      expect(windowed.features.map((f) => f.hash.toHex())).toEqual(result.features.map((f) => f.hash.toHex()));
    }
  });

  it('takes frame size, rate and container from its own ffmpeg run, not from metadata a file may forge', async () => {
    // a title whose lines mimic ffmpeg's stream summary, and a 90° rotation flag: frames come out 240×320
    const forged = join(dir, 'forged.mp4');
    const title = 'x\n  Duration: 99:00:00.00, start: 0\n  Stream #0:0: Video: h264, yuv420p, 16x16, 1000 fps, 1000 tbr';
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', clean, '-c', 'copy', '-metadata', `title=${title}`, '-metadata:s:v:0', 'rotate=90', forged]);
    const { info, features } = await vpdqHashVideo(forged);
    expect(info).toMatchObject({ width: 240, height: 320, fps: 10, durationSeconds: 6, formatName: 'mov,mp4,m4a,3gp,3g2,mj2' });
    expect(features.map((f) => f.frame)).toEqual([0, 10, 20, 30, 40, 50]);
  });

  it('refuses what is not a video, a video without pictures, and frames over the pixel limit, with their codes', async () => {
    const notVideo = join(dir, 'notes.mp4');
    writeFileSync(notVideo, 'not a video at all');
    await expect(vpdqHashVideo(notVideo)).rejects.toMatchObject({ code: 'unsupported_format', message: /not a video ffmpeg can read/ });
    const audio = join(dir, 'tone.m4a');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=duration=1', audio]);
    await expect(vpdqHashVideo(audio)).rejects.toMatchObject({ code: 'unsupported_format', message: /no video stream/ });
    await expect(vpdqHashVideo(clean, { maxFramePixels: 320 * 240 - 1 })).rejects.toMatchObject({ code: 'too_many_pixels' });
    await expect(vpdqHashVideo(clean, { ffmpeg: join(dir, 'no-such-ffmpeg') })).rejects.toMatchObject({ code: 'ffmpeg_missing' });
  });

  it('reads an upload only as a video container: a concat list or playlist naming other files is refused', async () => {
    // Without the demuxer list, ffmpeg would follow the list to clean.mp4 (or a playlist's URLs) and we
    // would hash and describe a file the uploader named but never sent.
    const list = join(dir, 'list.mp4');
    writeFileSync(list, 'ffconcat version 1.0\nfile clean.mp4\n');
    await expect(vpdqHashVideo(list)).rejects.toMatchObject({ code: 'unsupported_format' });
    await expect(probeVideo(list)).rejects.toMatchObject({ code: 'unsupported_format' });
    const playlist = join(dir, 'playlist.mp4');
    writeFileSync(playlist, `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:6,\n${clean}\n#EXT-X-ENDLIST\n`);
    await expect(probeVideo(playlist)).rejects.toMatchObject({ code: 'unsupported_format' });
    expect(await probeVideo(clean)).toMatchObject({ width: 320, height: 240, formatName: 'mov,mp4,m4a,3gp,3g2,mj2' });
  });

  it('reads frame rates as ffmpeg prints them, restoring the NTSC family exactly', () => {
    expect([rate('30'), rate('25'), rate('12.50'), rate('90k')]).toEqual([30, 25, 12.5, 90_000]);
    expect([rate('29.97'), rate('23.98'), rate('59.94')]).toEqual([30000 / 1001, 24000 / 1001, 60000 / 1001]);
    expect([rate(undefined), rate('0'), rate('nan')]).toEqual([null, null, null]);
  });

  it('does not crop uniform edges that change colour over time, nor a blank frame', () => {
    const d = new LetterboxDetector(8, 8);
    const frame = (top: number) => {
      const f = new Uint8Array(8 * 8 * 3);
      for (let i = 0; i < f.length; i++) f[i] = (i * 37) & 255;
      f.fill(top, 0, 8 * 3); // first row uniform
      return f;
    };
    d.addFrame(frame(0));
    expect(d.crop()).toEqual({ x: 0, y: 1, width: 8, height: 7 });
    d.addFrame(frame(200)); // the "bar" changed colour: it is content
    expect(d.crop()).toEqual({ x: 0, y: 0, width: 8, height: 8 });
    const blank = new LetterboxDetector(8, 8);
    blank.addFrame(new Uint8Array(8 * 8 * 3));
    expect(blank.crop()).toEqual({ x: 0, y: 0, width: 8, height: 8 });
  });
});
