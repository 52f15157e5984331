/** Test support: images whose PDQ hashes are far apart for different seeds (coloured blocks on noise-free black). */
import sharp from 'sharp';

/** A 200×150 PNG of twelve coloured blocks placed by `seed`; `flop` mirrors it (the same PDQ up to a dihedral variant). */
export async function blockPicture(seed: number, flop = false): Promise<Buffer> {
  const w = 200;
  const h = 150;
  const px = Buffer.alloc(w * h * 3);
  let s = seed * 977 + 3;
  for (let b = 0; b < 12; b++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const x0 = s % w;
    const y0 = (s >>> 8) % h;
    const c = [s & 255, (s >>> 5) & 255, (s >>> 11) & 255];
    for (let y = y0; y < Math.min(h, y0 + 40); y++) for (let x = x0; x < Math.min(w, x0 + 60); x++) px.set(c, (y * w + x) * 3);
  }
  for (let i = 0; i < px.length; i += 3) if (px[i] === 0 && px[i + 1] === 0) px[i + 2] = (i / 3) % w;
  const img = sharp(px, { raw: { width: w, height: h, channels: 3 } });
  return (flop ? img.flop() : img).png().toBuffer();
}
