/**
 * The first image file directory of a TIFF or BigTIFF: every entry with where its values are, read with
 * bounds checks so that a damaged file gives an error naming what is missing.
 */

/** Bytes per value of each TIFF field type (BYTE, ASCII, SHORT, LONG, RATIONAL, … LONG8, SLONG8, IFD8). */
const TYPE_SIZES: Readonly<Record<number, number>> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8 };

export interface IfdEntry {
  readonly tag: number;
  readonly type: number;
  readonly count: number;
  /** Byte offset of the first value in the file (inline values sit in the entry itself). */
  readonly offset: number;
  /** Bytes per value. */
  readonly size: number;
}

export interface TiffDirectory {
  readonly littleEndian: boolean;
  readonly bigTiff: boolean;
  /** The entries in file order, the first of each tag only. */
  readonly entries: ReadonlyMap<number, IfdEntry>;
  /** Unsigned integer values of an entry (BYTE, SHORT, LONG, LONG8, IFD types), null for others or a missing tag. */
  integers(tag: number): number[] | null;
  /** RATIONAL, FLOAT or DOUBLE values as libtiff reads them into floats (a rational in float32, 0 over a zero denominator). */
  floats(tag: number): number[] | null;
}

export function readTiffDirectory(b: Uint8Array): TiffDirectory {
  const littleEndian = b[0] === 0x49;
  const bigTiff = b[2] === 0x2b || b[3] === 0x2b; // BigTIFF: 8-byte offsets and counts, 20-byte entries
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const need = (o: number, n: number, what: string) => {
    if (o < 0 || o + n > b.length) throw new Error(`TIFF is truncated (${what} at byte ${o}, file has ${b.length} bytes)`);
  };
  const u16 = (o: number) => view.getUint16(o, littleEndian);
  const u32 = (o: number) => view.getUint32(o, littleEndian);
  const u64 = (o: number) => Number(view.getBigUint64(o, littleEndian));
  const offsetAt = (o: number) => (bigTiff ? u64(o) : u32(o));
  need(0, bigTiff ? 16 : 8, 'header');
  const first = offsetAt(bigTiff ? 8 : 4);
  const countSize = bigTiff ? 8 : 2;
  const entrySize = bigTiff ? 20 : 12;
  need(first, countSize, 'first directory');
  const count = bigTiff ? u64(first) : u16(first);
  need(first + countSize, entrySize * count, 'first directory');
  const entries = new Map<number, IfdEntry>();
  for (let i = 0, e = first + countSize; i < count; i++, e += entrySize) {
    const tag = u16(e);
    const type = u16(e + 2);
    const size = TYPE_SIZES[type];
    if (size === undefined || entries.has(tag)) continue;
    const valueCount = bigTiff ? u64(e + 4) : u32(e + 4);
    const inline = valueCount * size <= (bigTiff ? 8 : 4);
    const offset = inline ? e + (bigTiff ? 12 : 8) : offsetAt(e + (bigTiff ? 12 : 8));
    if (valueCount < 1 || offset + size * valueCount > b.length) continue; // unusable, as if absent
    entries.set(tag, { tag, type, count: valueCount, offset, size });
  }
  const integers = (tag: number): number[] | null => {
    const entry = entries.get(tag);
    if (!entry || ![1, 3, 4, 13, 16, 18].includes(entry.type)) return null;
    const read = entry.size === 1 ? (o: number) => b[o] : entry.size === 2 ? u16 : entry.size === 4 ? u32 : u64;
    return Array.from({ length: entry.count }, (_, k) => read(entry.offset + k * entry.size));
  };
  const floats = (tag: number): number[] | null => {
    const entry = entries.get(tag);
    if (!entry || ![5, 11, 12].includes(entry.type)) return null;
    const f32 = Math.fround;
    const read = (o: number): number => {
      if (entry.type === 11) return view.getFloat32(o, littleEndian);
      if (entry.type === 12) return f32(view.getFloat64(o, littleEndian));
      const den = u32(o + 4);
      return den === 0 ? 0 : f32(f32(u32(o)) / f32(den));
    };
    return Array.from({ length: entry.count }, (_, k) => read(entry.offset + k * entry.size));
  };
  return { littleEndian, bigTiff, entries, integers, floats };
}
