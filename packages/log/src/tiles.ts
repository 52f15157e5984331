/**
 * C2SP tlog-tiles (https://c2sp.org/tlog-tiles): the tree as static "tiles" of 256 consecutive hashes
 * at levels 0, 8, 16… of the tree, and entries as "bundles" of 256, so standard tiled-log clients can
 * read the log. Tile n at level l holds MTH(D[(n·256+i)·256^l : (n·256+i+1)·256^l]) for i < width,
 * i.e. our stored node (8·l, n·256+i); a bundle is big-endian uint16 length-prefixed entries.
 */
export const TILE_WIDTH = 256;
export const TILE_HEIGHT = 8;
/** Entry bundles prefix each entry with a uint16 length. */
export const MAX_BUNDLED_ENTRY_BYTES = 0xffff;

export interface TileCoordinates {
  /** Tile level, 0–63; level `l` holds tree nodes of level 8·l. */
  level: number;
  index: number;
  /** 256 for a full tile, 1–255 for a partial one. */
  width: number;
}

/** `<N>` as zero-padded 3-digit path elements, all but the last prefixed with `x`: 1234067 → x001/x234/067. */
export function encodeTileIndex(index: number): string {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError('tile index must be a non-negative integer');
  const groups: string[] = [];
  let n = index;
  do {
    groups.unshift(String(n % 1000).padStart(3, '0'));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

export function tilePath(tile: TileCoordinates, entries = false): string {
  const partial = tile.width === TILE_WIDTH ? '' : `.p/${tile.width}`;
  return `tile/${entries ? 'entries' : tile.level}/${encodeTileIndex(tile.index)}${partial}`;
}

/**
 * Parses `<N>[.p/<W>]` (what follows `tile/<L>/` or `tile/entries/`). Only the canonical encoding is
 * accepted, so each tile has exactly one URL. Returns undefined for anything else.
 */
export function parseTileIndex(path: string): { index: number; width: number } | undefined {
  const match = /^((?:x\d{3}\/)*)(\d{3})(?:\.p\/([1-9]\d{0,2}))?$/.exec(path);
  if (!match) return undefined;
  const groups = [...match[1]!.split('/').filter(Boolean).map((g) => g.slice(1)), match[2]!];
  if (groups.length > 1 && groups[0] === '000') return undefined; // leading zero group: not canonical
  const index = groups.reduce((n, g) => n * 1000 + Number(g), 0);
  const width = match[3] === undefined ? TILE_WIDTH : Number(match[3]);
  if (!Number.isSafeInteger(index) || (match[3] !== undefined && width >= TILE_WIDTH)) return undefined;
  return { index, width };
}

/** Concatenates entries as a tlog-tiles entry bundle. */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(entries.reduce((n, e) => n + 2 + e.length, 0));
  let offset = 0;
  for (const entry of entries) {
    if (entry.length > MAX_BUNDLED_ENTRY_BYTES) throw new RangeError('an entry in a bundle must be at most 65,535 bytes');
    out[offset] = entry.length >> 8;
    out[offset + 1] = entry.length & 0xff;
    out.set(entry, offset + 2);
    offset += 2 + entry.length;
  }
  return out;
}

export function decodeEntryBundle(bundle: Uint8Array): Uint8Array[] {
  const entries: Uint8Array[] = [];
  let offset = 0;
  while (offset < bundle.length) {
    if (offset + 2 > bundle.length) throw new RangeError('entry bundle ends inside a length prefix');
    const length = (bundle[offset]! << 8) | bundle[offset + 1]!;
    if (offset + 2 + length > bundle.length) throw new RangeError('entry bundle ends inside an entry');
    entries.push(bundle.slice(offset + 2, offset + 2 + length));
    offset += 2 + length;
  }
  return entries;
}
