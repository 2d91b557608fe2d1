/**
 * Reads what zeroshot needs from an ONNX file without loading it into ONNX Runtime: the graph's input and output
 * names, and small float initializers by name (SigLIP's `logit_scale`/`logit_bias`, CLIP's `logit_scale`, which
 * live only inside the combined `model.onnx`). The file is walked field by field with positioned reads, skipping
 * every weight blob, so a 1 GB graph costs a few hundred small reads, not 1 GB of memory.
 *
 * Protobuf facts used (onnx.proto): ModelProto.graph = 7; GraphProto.initializer = 5, input = 11, output = 12;
 * ValueInfoProto.name = 1, type = 2; TypeProto.tensor_type = 1; TypeProto.Tensor.shape = 2; TensorShapeProto.dim = 1;
 * Dimension.dim_value = 1, dim_param = 2; TensorProto.dims = 1, data_type = 2, float_data = 4, name = 8, raw_data = 9,
 * data_location = 14 (1 = external); TensorProto.DataType FLOAT = 1.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export interface OnnxGraphInfo {
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Each output's declared shape: a size, a symbolic name (`batch_size`), or null where the graph says nothing. */
  readonly outputShapes: Readonly<Record<string, readonly (number | string | null)[] | undefined>>;
  /** Values of the requested float initializers that were found (scalars or 1-element tensors). */
  readonly scalars: Readonly<Record<string, number>>;
}

export const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
export const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;
const FLOAT = 1;

/** A protobuf varint (a non-negative integer below 2^53). */
export function encodeVarint(value: number): Buffer {
  const bytes: number[] = [];
  let v = value;
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

/** Positioned reads over a file, with a small read-ahead window. */
export class FileReader {
  private window = Buffer.alloc(0);
  private windowStart = 0;

  constructor(private readonly fd: number, readonly size: number) {}

  bytes(position: number, length: number): Buffer {
    if (position + length > this.size) throw new Error('truncated ONNX file');
    if (position < this.windowStart || position + length > this.windowStart + this.window.length) {
      const chunk = Buffer.alloc(Math.min(Math.max(length, 1 << 16), this.size - position));
      readSync(this.fd, chunk, 0, chunk.length, position);
      this.window = chunk;
      this.windowStart = position;
    }
    return this.window.subarray(position - this.windowStart, position - this.windowStart + length);
  }

  varint(position: number): { value: number; next: number } {
    let value = 0;
    let scale = 1;
    for (let p = position; p < position + 10; p++) {
      const byte = this.bytes(p, 1)[0];
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if (byte < 0x80) return { value, next: p + 1 };
    }
    throw new Error('malformed varint in ONNX file');
  }
}

export interface Field {
  /** Where the field's key starts: [at, next) is the whole field as encoded. */
  readonly at: number;
  readonly number: number;
  readonly wire: number;
  /** Varint value, or the length of a length-delimited field. */
  readonly value: number;
  /** Where a length-delimited field's bytes start. */
  readonly start: number;
  readonly next: number;
}

export function* fields(reader: FileReader, start: number, end: number): Generator<Field> {
  let position = start;
  while (position < end) {
    const key = reader.varint(position);
    const number = Math.floor(key.value / 8);
    const wire = key.value % 8;
    if (wire === WIRE_VARINT) {
      const v = reader.varint(key.next);
      yield { at: position, number, wire, value: v.value, start: key.next, next: v.next };
      position = v.next;
    } else if (wire === WIRE_LENGTH) {
      const length = reader.varint(key.next);
      const next = length.next + length.value;
      if (next > end) throw new Error('malformed ONNX file: a field runs past its message');
      yield { at: position, number, wire, value: length.value, start: length.next, next };
      position = next;
    } else if (wire === WIRE_FIXED64 || wire === WIRE_FIXED32) {
      const next = key.next + (wire === WIRE_FIXED64 ? 8 : 4);
      yield { at: position, number, wire, value: 0, start: key.next, next };
      position = next;
    } else {
      throw new Error(`malformed ONNX file: wire type ${wire}`);
    }
  }
}

export function text(reader: FileReader, field: Field): string {
  return reader.bytes(field.start, field.value).toString('utf8');
}

function valueInfoName(reader: FileReader, info: Field): string {
  for (const f of fields(reader, info.start, info.next)) if (f.number === 1 && f.wire === WIRE_LENGTH) return text(reader, f);
  return '';
}

/** A tensor value's declared shape, or undefined when its type has none. */
function valueInfoShape(reader: FileReader, info: Field): (number | string | null)[] | undefined {
  const child = (parent: Field | undefined, number: number) =>
    parent && [...fields(reader, parent.start, parent.next)].find((f) => f.number === number && f.wire === WIRE_LENGTH);
  const shape = child(child(child(info, 2), 1), 2);
  if (!shape) return undefined;
  return [...fields(reader, shape.start, shape.next)].filter((f) => f.number === 1 && f.wire === WIRE_LENGTH).map((dim) => {
    let size: number | string | null = null;
    for (const f of fields(reader, dim.start, dim.next)) {
      if (f.number === 1 && f.wire === WIRE_VARINT) size = f.value;
      else if (f.number === 2 && f.wire === WIRE_LENGTH) size = text(reader, f);
    }
    return size;
  });
}

/** An initializer's name, and its value when it is a float tensor of one element. */
function initializer(reader: FileReader, tensor: Field): { name: string; scalar?: number } {
  let name = '';
  let dataType = 0;
  let elements = 1;
  let data: Field | undefined;
  for (const f of fields(reader, tensor.start, tensor.next)) {
    if (f.number === 8 && f.wire === WIRE_LENGTH) name = text(reader, f);
    else if (f.number === 2 && f.wire === WIRE_VARINT) dataType = f.value;
    else if (f.number === 1 && f.wire === WIRE_VARINT) elements *= f.value;
    else if (f.number === 1 && f.wire === WIRE_LENGTH) {
      for (let p = f.start; p < f.next; ) {
        const dim = reader.varint(p);
        elements *= dim.value;
        p = dim.next;
      }
    } else if ((f.number === 9 || f.number === 4) && f.wire === WIRE_LENGTH) data = f;
    else if (f.number === 4 && f.wire === WIRE_FIXED32) data = { ...f, value: 4 };
  }
  // Only a 4-byte payload is read: weight blobs are skipped without touching their bytes.
  const isScalar = dataType === FLOAT && elements === 1 && data?.value === 4;
  return isScalar ? { name, scalar: reader.bytes(data!.start, 4).readFloatLE(0) } : { name };
}

/** Graph inputs, outputs and the named float scalars of the ONNX file at `path`. */
export function readOnnxGraphInfo(path: string, scalarNames: readonly string[] = []): OnnxGraphInfo {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const reader = new FileReader(fd, size);
    const wanted = new Set(scalarNames);
    const inputs: string[] = [];
    const outputs: string[] = [];
    const outputShapes: Record<string, (number | string | null)[] | undefined> = Object.create(null);
    const initializers = new Set<string>();
    const scalars: Record<string, number> = Object.create(null);
    let sawGraph = false;
    for (const top of fields(reader, 0, size)) {
      if (top.number !== 7 || top.wire !== WIRE_LENGTH) continue;
      sawGraph = true;
      for (const f of fields(reader, top.start, top.next)) {
        if (f.wire !== WIRE_LENGTH) continue;
        if (f.number === 11) inputs.push(valueInfoName(reader, f));
        else if (f.number === 12) {
          const name = valueInfoName(reader, f);
          outputs.push(name);
          outputShapes[name] = valueInfoShape(reader, f);
        }
        else if (f.number === 5) {
          const { name, scalar } = initializer(reader, f);
          initializers.add(name);
          if (scalar !== undefined && wanted.has(name)) scalars[name] = scalar;
        }
      }
    }
    if (!sawGraph) throw new Error('it holds no graph (is it an ONNX model?)');
    // Older exporters also list initializers among the graph inputs; those are not inputs to feed.
    return { inputs: inputs.filter((name) => !initializers.has(name)), outputs, outputShapes, scalars };
  } catch (error) {
    throw new Error(`cannot read ONNX file '${path}': ${(error as Error).message}`, { cause: error });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
