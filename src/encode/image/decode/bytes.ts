/** Small helpers shared by the hand-written decoders. */

/** Bounds-checked little-endian reader that reports truncation clearly. */
export class ByteReader {
  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
  ) {}

  need(offset: number, length: number): void {
    if (offset < 0 || offset + length > this.bytes.length) {
      throw new Error(`${this.what} is truncated (needs byte ${offset + length}, file has ${this.bytes.length})`);
    }
  }

  u8(o: number): number {
    this.need(o, 1);
    return this.bytes[o];
  }

  u16(o: number): number {
    this.need(o, 2);
    return this.bytes[o] | (this.bytes[o + 1] << 8);
  }

  u32(o: number): number {
    this.need(o, 4);
    return (this.bytes[o] | (this.bytes[o + 1] << 8) | (this.bytes[o + 2] << 16) | (this.bytes[o + 3] << 24)) >>> 0;
  }

  i32(o: number): number {
    return this.u32(o) | 0;
  }
}

/** Big-endian unsigned 16/32-bit reads without bounds checks (callers check lengths). */
export const be16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
export const be32 = (b: Uint8Array, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

/** Whether `b` holds the ASCII text `s` at `start`. */
export function asciiAt(b: Uint8Array, start: number, s: string): boolean {
  if (b.length < start + s.length) return false;
  for (let i = 0; i < s.length; i++) if (b[start + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** A 256-entry RGB palette: given entries first, the rest a grey ramp (PIL's fill). */
export function expandPalette(entries: Uint8Array, stride: number, count: number, order: 'RGB' | 'BGR'): Uint8Array {
  const palette = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) palette.fill(i, 3 * i, 3 * i + 3);
  for (let i = 0; i < Math.min(count, 256); i++) {
    const p = i * stride;
    palette[3 * i] = entries[p + (order === 'RGB' ? 0 : 2)];
    palette[3 * i + 1] = entries[p + 1];
    palette[3 * i + 2] = entries[p + (order === 'RGB' ? 2 : 0)];
  }
  return palette;
}
