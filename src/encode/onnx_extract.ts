/**
 * One tower out of a combined ONNX graph (Chinese-CLIP and jina-clip v2 ship only `onnx/model.onnx`): the nodes
 * the requested outputs depend on, the initializers and graph inputs those nodes read, nothing else. What Python's
 * `onnx.utils.extract_model` does, done on the protobuf bytes: kept fields are copied as they are encoded, so the
 * tower computes exactly what the combined graph computes, and an image batch no longer costs a text encoding.
 *
 * Protobuf facts (onnx.proto): ModelProto.graph = 7; GraphProto.node = 1, name = 2, initializer = 5,
 * input = 11, output = 12, value_info = 13, sparse_initializer = 15; NodeProto.input = 1, output = 2, attribute = 5;
 * AttributeProto.g = 6, graphs = 11; TensorProto.name = 8; ValueInfoProto.name = 1.
 */
import { closeSync, openSync, readSync, renameSync, writeSync, fstatSync } from 'node:fs';
import { FileReader, encodeVarint, fields, text, WIRE_LENGTH, type Field } from './onnx_file.js';

interface NodeEntry {
  readonly field: Field;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

/** Every name a node reads: its inputs, and (conservatively) every input of the nodes in its subgraphs. */
function nodeEntry(reader: FileReader, field: Field): NodeEntry {
  const inputs: string[] = [];
  const outputs: string[] = [];
  const subgraphInputs = (graph: Field) => {
    for (const g of fields(reader, graph.start, graph.next)) {
      if (g.number === 1 && g.wire === WIRE_LENGTH) inputs.push(...nodeEntry(reader, g).inputs);
    }
  };
  for (const f of fields(reader, field.start, field.next)) {
    if (f.wire !== WIRE_LENGTH) continue;
    if (f.number === 1) inputs.push(text(reader, f));
    else if (f.number === 2) outputs.push(text(reader, f));
    else if (f.number === 5) {
      for (const a of fields(reader, f.start, f.next)) if ((a.number === 6 || a.number === 11) && a.wire === WIRE_LENGTH) subgraphInputs(a);
    }
  }
  return { field, inputs, outputs };
}

function nameOf(reader: FileReader, field: Field, nameField: number): string {
  for (const f of fields(reader, field.start, field.next)) if (f.number === nameField && f.wire === WIRE_LENGTH) return text(reader, f);
  return '';
}

/** The file an initializer's data lives in when it is stored outside the graph (TensorProto.external_data = 13). */
function externalLocation(reader: FileReader, tensor: Field): string | undefined {
  for (const f of fields(reader, tensor.start, tensor.next)) {
    if (f.number !== 13 || f.wire !== WIRE_LENGTH) continue;
    let key = '';
    let value = '';
    for (const e of fields(reader, f.start, f.next)) {
      if (e.number === 1 && e.wire === WIRE_LENGTH) key = text(reader, e);
      else if (e.number === 2 && e.wire === WIRE_LENGTH) value = text(reader, e);
    }
    if (key === 'location') return value;
  }
  return undefined;
}

export interface ExtractedGraph {
  /** Graph inputs the tower needs. */
  readonly inputs: readonly string[];
  readonly nodes: number;
  readonly nodesInSource: number;
  /** Files beside the graph that hold the kept initializers' data (relative to the graph's folder). */
  readonly externalData: readonly string[];
}

/**
 * Writes to `target` the part of the ONNX model at `source` that computes `outputs` (graph outputs of the source).
 * The file is written beside the target and renamed into place, so a reader never sees half of it.
 */
export function extractOnnxOutputs(source: string, target: string, outputs: readonly string[]): ExtractedGraph {
  const fd = openSync(source, 'r');
  try {
    const reader = new FileReader(fd, fstatSync(fd).size);
    const topLevel = [...fields(reader, 0, reader.size)];
    const graph = topLevel.find((f) => f.number === 7 && f.wire === WIRE_LENGTH);
    if (!graph) throw new Error(`${source} holds no graph`);
    const nodes: NodeEntry[] = [];
    const kept: Field[] = [];
    const named = { initializer: [] as [string, Field][], input: [] as [string, Field][], output: [] as [string, Field][], valueInfo: [] as [string, Field][] };
    for (const f of fields(reader, graph.start, graph.next)) {
      if (f.wire !== WIRE_LENGTH) continue;
      if (f.number === 1) nodes.push(nodeEntry(reader, f));
      else if (f.number === 2 || f.number === 15) kept.push(f);
      else if (f.number === 5) named.initializer.push([nameOf(reader, f, 8), f]);
      else if (f.number === 11) named.input.push([nameOf(reader, f, 1), f]);
      else if (f.number === 12) named.output.push([nameOf(reader, f, 1), f]);
      else if (f.number === 13) named.valueInfo.push([nameOf(reader, f, 1), f]);
    }
    const available = new Set(named.output.map(([name]) => name));
    const unknown = outputs.filter((name) => !available.has(name));
    if (unknown.length) throw new Error(`${source} has no output ${unknown.join(', ')} (it has ${[...available].join(', ')})`);

    // Nodes are stored in topological order: walking back from the outputs finds everything they depend on.
    const needed = new Set(outputs);
    const keepNode = new Array<boolean>(nodes.length).fill(false);
    for (let i = nodes.length - 1; i >= 0; i--) {
      if (!nodes[i].outputs.some((name) => needed.has(name))) continue;
      keepNode[i] = true;
      for (const name of nodes[i].inputs) if (name) needed.add(name);
    }
    const initializers = new Set(named.initializer.map(([name]) => name));
    const keptInitializers = named.initializer.filter(([name]) => needed.has(name)).map(([, f]) => f);
    const externalData = [...new Set(keptInitializers.map((f) => externalLocation(reader, f)).filter((l): l is string => l !== undefined))];
    const graphFields = [
      ...kept,
      ...nodes.filter((_, i) => keepNode[i]).map((n) => n.field),
      ...keptInitializers,
      ...named.input.filter(([name]) => needed.has(name) && !initializers.has(name)).map(([, f]) => f),
      ...outputs.map((name) => named.output.find(([n]) => n === name)![1]),
      ...named.valueInfo.filter(([name]) => needed.has(name)).map(([, f]) => f),
    ].sort((a, b) => a.at - b.at);
    const graphLength = graphFields.reduce((n, f) => n + (f.next - f.at), 0);

    const partial = `${target}.${process.pid}.partial`;
    const out = openSync(partial, 'w');
    try {
      const copy = (from: number, to: number) => {
        const chunk = Buffer.alloc(Math.min(1 << 22, Math.max(1, to - from)));
        for (let p = from; p < to; ) {
          const n = readSync(fd, chunk, 0, Math.min(chunk.length, to - p), p);
          writeSync(out, chunk, 0, n);
          p += n;
        }
      };
      for (const f of topLevel) {
        if (f !== graph) copy(f.at, f.next);
        else {
          writeSync(out, Buffer.concat([encodeVarint((7 << 3) | WIRE_LENGTH), encodeVarint(graphLength)]));
          for (const g of graphFields) copy(g.at, g.next);
        }
      }
    } finally {
      closeSync(out);
    }
    renameSync(partial, target);
    const inputs = named.input.filter(([name]) => needed.has(name) && !initializers.has(name)).map(([name]) => name);
    return { inputs, nodes: keepNode.filter(Boolean).length, nodesInSource: nodes.length, externalData };
  } finally {
    closeSync(fd);
  }
}
