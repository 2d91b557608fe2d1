// NumPy .npy format, version 1.0: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html

const MAGIC = [0x93, ...Buffer.from('NUMPY')];
const PREFIX_BYTES = MAGIC.length + 2 + 2; // magic, version, header length
const ALIGNMENT = 64;

/** The bytes before the data of a C-order little-endian float32 array of `shape`. */
export function npyFloat32Header(shape: readonly number[]): Buffer {
  for (const size of shape) if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`npy: bad dimension ${size}`);
  // Python tuple syntax: a 1-tuple needs its trailing comma.
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${tuple}, }`;
  const unpadded = PREFIX_BYTES + dict.length + 1;
  const padded = Math.ceil(unpadded / ALIGNMENT) * ALIGNMENT;
  const headerText = dict + ' '.repeat(padded - unpadded) + '\n';
  if (headerText.length > 0xffff) throw new RangeError('npy: header too long for format version 1.0');
  const bytes = Buffer.alloc(padded);
  bytes.set(MAGIC, 0);
  bytes[6] = 1;
  bytes[7] = 0;
  bytes.writeUInt16LE(headerText.length, 8);
  bytes.write(headerText, PREFIX_BYTES, 'latin1');
  return bytes;
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A float32 vector as little-endian bytes (a copy), as .npy `<f4` and the cache's BLOBs store it. */
export function float32ToLittleEndian(values: Float32Array): Buffer {
  const bytes = Buffer.from(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  return HOST_IS_LITTLE_ENDIAN ? bytes : bytes.swap32();
}

/** Little-endian float32 bytes back to a Float32Array of the host's byte order (a copy). */
export function float32FromLittleEndian(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4) throw new RangeError(`float32 data of ${bytes.byteLength} bytes is not a whole number of values`);
  const values = new Float32Array(bytes.byteLength / 4);
  const view = new Uint8Array(values.buffer);
  view.set(bytes);
  if (!HOST_IS_LITTLE_ENDIAN) Buffer.from(values.buffer).swap32();
  return values;
}

/** Writes a (rows × dim) float32 .npy into `sink` row by row, so the whole matrix never has to be in memory. */
export class NpyFloat32Writer {
  private written = 0;

  constructor(
    readonly rows: number,
    readonly dim: number,
    private readonly sink: (chunk: Uint8Array) => void,
  ) {
    sink(npyFloat32Header([rows, dim]));
  }

  /** One row, as a Float32Array or as its little-endian bytes. */
  writeRow(row: Float32Array | Uint8Array): void {
    const bytes = row instanceof Float32Array ? float32ToLittleEndian(row) : row;
    if (bytes.byteLength !== this.dim * 4) throw new RangeError(`npy: row ${this.written} has ${bytes.byteLength / 4} values, expected ${this.dim}`);
    if (this.written === this.rows) throw new RangeError(`npy: more than the ${this.rows} rows of the header`);
    this.sink(bytes);
    this.written++;
  }

  /** Checks that the data matches the shape promised in the header. */
  finish(): void {
    if (this.written !== this.rows) throw new RangeError(`npy: ${this.written} rows written, the header promised ${this.rows}`);
  }
}

/**
 * Reads a C-order little-endian float32 .npy (version 1, 2 or 3), the layout NpyFloat32Writer and NumPy's
 * `np.save` of a float32 array write; anything else is refused, naming what it holds.
 */
export function readNpyFloat32(bytes: Uint8Array, source = 'npy'): { shape: number[]; data: Float32Array } {
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) throw new Error(`${source}: not a .npy file (no \\x93NUMPY magic)`);
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = Buffer.from(bytes.subarray(start, start + headerLength)).toString('latin1');
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr !== '<f4' || fortran !== 'False' || shapeText === undefined) {
    throw new Error(`${source}: holds ${descr ?? '?'} in ${fortran === 'True' ? 'Fortran' : 'C'} order; only little-endian float32 (<f4) in C order is read`);
  }
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const data = bytes.subarray(start + headerLength);
  if (data.byteLength !== count * 4) throw new Error(`${source}: ${data.byteLength} data bytes for shape (${shape.join(', ')}), expected ${count * 4}`);
  return { shape, data: float32FromLittleEndian(data) };
}
