import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FormatError } from '../src/errors.ts';
import { PdqHash } from '../src/pdqHash.ts';
import { pdqFromRgb } from '../src/pdq.ts';
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

  beforeAll(() => {
    const ffmpeg = (...args: string[]) => execFileSync('ffmpeg', ['-v', 'error', '-y', ...args], { timeout: 60_000 });
    const h264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];
    ffmpeg('-f', 'lavfi', '-i', 'testsrc=duration=6:size=320x240:rate=10', ...h264, clean);
    // the same footage shrunk into a 16:9-style frame with black bars above and below
    ffmpeg('-i', clean, '-vf', 'scale=320:180,pad=320:240:0:30:black', ...h264, boxed);
    // and with grey pillars left and right
    ffmpeg('-i', clean, '-vf', 'scale=240:240,pad=320:240:40:0:0x808080', ...h264, pillar);
    // letterboxed with a key frame every 5 frames (12 in all): bars are found from the key frames alone
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

  it('hashes HD frames as ffmpeg hands them over, downscaled and grey, within a few bits of full-size RGB hashing', async () => {
    const hd = join(dir, 'hd.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=duration=4:size=1280x720:rate=10', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', hd]);
    const wrapper = join(dir, 'ffmpeg-hd.sh');
    writeFileSync(wrapper, `#!/bin/sh\necho "$@" >> ${join(dir, 'ffmpeg-hd.txt')}\nexec ffmpeg "$@"\n`, { mode: 0o755 });
    const { features } = await vpdqHashVideo(hd, { ffmpeg: wrapper, removeLetterbox: false });
    const [hashing] = readFileSync(join(dir, 'ffmpeg-hd.txt'), 'utf8').trim().split('\n');
    expect(hashing).toContain('fps=1,format=gray,crop=1280:720:0:0,scale=512:288:flags=area');
    expect(hashing).toContain('-pix_fmt gray');
    // the same frames decoded whole to RGB and hashed at full size, as vpdq's reference does
    const rgb = execFileSync('ffmpeg', ['-v', 'error', '-i', hd, '-vf', 'fps=1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 1 << 26 });
    const frame = 1280 * 720 * 3;
    expect(features).toHaveLength(rgb.length / frame);
    const distances = features.map((f, i) => f.hash.distance(pdqFromRgb(rgb.subarray(i * frame, (i + 1) * frame), 1280, 720).hash));
    console.log(`HD frames, 512 px grey vs full-size RGB: ${distances.join(', ')} bits apart`);
    expect(Math.max(...distances)).toBeLessThanOrEqual(16);
  });

  it('finds the bars from the key frames when a video has enough of them, with the same hashes', async () => {
    const ffmpegRuns: string[][] = [];
    // a wrapper ffmpeg that records its arguments: which pass decoded what
    const wrapper = join(dir, 'ffmpeg-wrapper.sh');
    writeFileSync(wrapper, `#!/bin/sh\necho "$@" >> ${join(dir, 'ffmpeg-args.txt')}\nexec ffmpeg "$@"\n`, { mode: 0o755 });
    const result = await vpdqHashVideo(keyed, { ffmpeg: wrapper });
    for (const line of readFileSync(join(dir, 'ffmpeg-args.txt'), 'utf8').trim().split('\n')) ffmpegRuns.push(line.split(' '));
    expect(result.crop).toEqual({ x: 0, y: 30, width: 320, height: 180 });
    expect(ffmpegRuns).toHaveLength(2); // the key frames, then the hashing pass: no sampled detection pass
    expect(ffmpegRuns[0]).toContain('nokey');
    expect(ffmpegRuns[1]).not.toContain('nokey');
    const sampledDetection = await vpdqHashVideo(keyed, { detectFrames: 7 }); // fewer than 8 key frames asked: sampled frames
    expect(sampledDetection.crop).toEqual(result.crop);
    expect(sampledDetection.features.map((f) => f.hash.toHex())).toEqual(result.features.map((f) => f.hash.toHex()));
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
