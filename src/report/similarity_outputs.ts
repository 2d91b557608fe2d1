/**
 * The images × prompts outputs (similarities and probabilities), written block by block so that neither the
 * matrix nor its text is ever whole in memory: the seed's JSON (byte for byte what similaritiesJson gives),
 * float32 .npy with a JSON index of its rows and columns, or one long Parquet table (hyparquet-writer).
 */
import { open, rename, rm } from 'node:fs/promises';
import { ParquetWriter, fileWriter } from 'hyparquet-writer';
import type { RunResult } from '../pipeline.js';
import { NpyFloat32Writer } from '../encode/cache/npy.js';
import { probabilityBlocks, similarityBlocks, type SimilaritySource } from '../score/chunked.js';
import type { ProbabilityScoring } from '../score/probabilities.js';
import type { ScoreMatrix } from '../score/similarity.js';
import type { ResultOutput } from './results_folder.js';
import { SCHEMA_VERSIONS, type SimilarityIndexFile } from './result_files.js';
import { similarityRowJson } from './tables.js';

/** --similarities: how the images × prompts matrices are written. */
export const SIMILARITY_FORMATS = ['json', 'npy', 'parquet', 'none'] as const;
export type SimilarityFormat = (typeof SIMILARITY_FORMATS)[number];

export const SIMILARITY_FILES = {
  json: { similarities: 'similarities.json', probabilities: 'probabilities.json' },
  npy: { similarities: 'similarities.npy', probabilities: 'probabilities.npy', index: 'similarities_index.json' },
  parquet: { similarities: 'similarities.parquet' },
} as const;

export function parseSimilarityFormat(text: string): SimilarityFormat {
  if ((SIMILARITY_FORMATS as readonly string[]).includes(text)) return text as SimilarityFormat;
  throw new Error(`--similarities '${text}': use ${SIMILARITY_FORMATS.join(', ')}`);
}

/** Bytes written before each flush of a streamed file. */
const FLUSH_BYTES = 1 << 22;
/** Parquet rows per row group (about 4 MB of scores). */
const PARQUET_ROW_GROUP = 1 << 20;

type Blocks = AsyncIterable<{ start: number; block: ScoreMatrix }>;

/** Writes `path` through a temporary file beside it, renamed when complete (removed on failure). */
async function streamToFile(path: string, fill: (write: (chunk: string | Uint8Array) => Promise<void>) => Promise<void>): Promise<void> {
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  const handle = await open(temporary, 'w');
  try {
    let pending: (string | Uint8Array)[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      for (const chunk of pending) await (typeof chunk === 'string' ? handle.write(chunk) : handle.write(chunk));
      pending = [];
      pendingBytes = 0;
    };
    await fill(async (chunk) => {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= FLUSH_BYTES) await flush();
    });
    await flush();
    await handle.close();
    await rename(temporary, path);
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(temporary, { force: true });
    throw error;
  }
}

/** The seed's JSON, row by row: the same bytes as similaritiesJson on the whole matrix. */
export async function writeScoresJson(path: string, imageKeys: readonly string[], prompts: readonly string[], blocks: Blocks): Promise<void> {
  const promptKeys = prompts.map((p) => JSON.stringify(p));
  await streamToFile(path, async (write) => {
    if (imageKeys.length === 0) return write('{}\n');
    await write('{\n');
    for await (const { start, block } of blocks) {
      for (let i = 0; i < block.rows; i++) {
        await write(`${start + i > 0 ? ',\n' : ''}${similarityRowJson(imageKeys[start + i], promptKeys, block.data, i * block.cols)}`);
      }
    }
    await write('\n}\n');
  });
}

/** float32 images × prompts, C order. */
export async function writeScoresNpy(path: string, rows: number, cols: number, blocks: Blocks): Promise<void> {
  await streamToFile(path, async (write) => {
    const chunks: Uint8Array[] = [];
    const npy = new NpyFloat32Writer(rows, cols, (chunk) => chunks.push(chunk));
    const drain = async () => {
      for (const chunk of chunks.splice(0)) await write(chunk);
    };
    await drain();
    for await (const { block } of blocks) {
      for (let i = 0; i < block.rows; i++) npy.writeRow(block.data.subarray(i * block.cols, (i + 1) * block.cols));
      await drain();
    }
    npy.finish();
  });
}

/**
 * One row per image × prompt: image, prompt, class, similarity (and probability), row groups of about
 * PARQUET_ROW_GROUP rows; the strings are dictionary-encoded by the writer, so repeating them costs little.
 */
export async function writeScoresParquet(
  path: string,
  imageKeys: readonly string[],
  prompts: readonly string[],
  promptClassNames: readonly string[],
  similarity: Blocks,
  probability: Blocks | null,
): Promise<void> {
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  const schema = [
    { name: 'root', num_children: probability ? 5 : 4 },
    { name: 'image', type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'REQUIRED' as const },
    { name: 'prompt', type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'REQUIRED' as const },
    { name: 'class', type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'REQUIRED' as const },
    { name: 'similarity', type: 'FLOAT' as const, repetition_type: 'REQUIRED' as const },
    ...(probability ? [{ name: 'probability', type: 'FLOAT' as const, repetition_type: 'REQUIRED' as const }] : []),
  ];
  try {
    const writer = new ParquetWriter({ writer: fileWriter(temporary), schema, createdBy: 'zeroshot' });
    const cols = prompts.length;
    const imagesPerGroup = Math.max(1, Math.floor(PARQUET_ROW_GROUP / Math.max(1, cols)));
    const probabilityIterator = probability?.[Symbol.asyncIterator]();
    for await (const { start, block } of similarity) {
      const probabilityBlock = probabilityIterator ? (await probabilityIterator.next()).value?.block : undefined;
      for (let from = 0; from < block.rows; from += imagesPerGroup) {
        const to = Math.min(block.rows, from + imagesPerGroup);
        const n = (to - from) * cols;
        const image: string[] = new Array(n);
        const prompt: string[] = new Array(n);
        const className: string[] = new Array(n);
        for (let i = from, r = 0; i < to; i++) {
          for (let j = 0; j < cols; j++, r++) {
            image[r] = imageKeys[start + i];
            prompt[r] = prompts[j];
            className[r] = promptClassNames[j];
          }
        }
        const columnData = [
          { name: 'image', data: image },
          { name: 'prompt', data: prompt },
          { name: 'class', data: className },
          { name: 'similarity', data: block.data.slice(from * cols, to * cols) },
          ...(probabilityBlock ? [{ name: 'probability', data: probabilityBlock.data.slice(from * cols, to * cols) }] : []),
        ];
        await writer.write({ columnData, rowGroupSize: n });
      }
    }
    writer.finish();
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** The part of a run the similarity outputs read. */
function sourceOf(result: RunResult): SimilaritySource {
  return { imageEmbeddings: result.imageEmbeddings, textEmbeddings: result.textEmbeddings, dim: result.dim, similarity: result.similarity, threads: result.model.threads };
}

/** The run's learned probability values, or null when unknown (no probabilities written). */
function probabilityScoring(result: RunResult): ProbabilityScoring | null {
  const { kind, logit_scale, logit_bias } = result.scoring;
  return logit_scale === null ? null : { kind, logitScale: logit_scale, ...(logit_bias === null ? {} : { logitBias: logit_bias }) };
}

/** Blocks of the kept probability matrix, or recomputed from the similarity blocks. */
function probabilitiesOf(result: RunResult, scoring: ProbabilityScoring): Blocks {
  const kept = result.probabilities;
  if (!kept) return probabilityBlocks(sourceOf(result), scoring);
  return similarityBlocks({ ...sourceOf(result), similarity: kept });
}

/** The similarity outputs of a run in `format` (none for `none`), each written on its own. */
export function similarityOutputs(result: RunResult, format: SimilarityFormat): ResultOutput[] {
  const keys = result.imageKeys;
  const prompts = result.spec.prompts;
  const scoring = probabilityScoring(result);
  const similarity = () => similarityBlocks(sourceOf(result));
  const output = (name: string, write: (path: string) => Promise<void>): ResultOutput => ({ name, write });
  if (format === 'none') return [];
  if (format === 'json') {
    const files = SIMILARITY_FILES.json;
    return [
      output(files.similarities, (path) => writeScoresJson(path, keys, prompts, similarity())),
      ...(scoring ? [output(files.probabilities, (path) => writeScoresJson(path, keys, prompts, probabilitiesOf(result, scoring)))] : []),
    ];
  }
  const classOfPrompt = Array.from(result.spec.promptClass, (c) => result.spec.classes[c].name);
  if (format === 'npy') {
    const files = SIMILARITY_FILES.npy;
    const index: SimilarityIndexFile = {
      schema_version: SCHEMA_VERSIONS['similarities_index.json'],
      shape: [keys.length, prompts.length],
      dtype: 'float32',
      values: '100·cos (similarities.npy); the model\'s probabilities (probabilities.npy)',
      files: { similarities: files.similarities, probabilities: scoring ? files.probabilities : null },
      images: keys,
      prompts,
      prompt_classes: classOfPrompt,
    };
    return [
      output(files.similarities, (path) => writeScoresNpy(path, keys.length, prompts.length, similarity())),
      ...(scoring ? [output(files.probabilities, (path) => writeScoresNpy(path, keys.length, prompts.length, probabilitiesOf(result, scoring)))] : []),
      output(files.index, (path) => streamToFile(path, (write) => write(JSON.stringify(index, null, 2) + '\n'))),
    ];
  }
  return [output(SIMILARITY_FILES.parquet.similarities, (path) => writeScoresParquet(path, keys, prompts, classOfPrompt, similarity(), scoring && probabilitiesOf(result, scoring)))];
}

/** Bytes the similarity outputs of `format` will take, roughly (the JSON from its exact layout, digits averaged). */
export function estimatedSimilarityBytes(format: SimilarityFormat, images: number, prompts: readonly string[], withProbabilities: boolean): number {
  const files = withProbabilities ? 2 : 1;
  if (format === 'none') return 0;
  if (format === 'npy') return files * images * prompts.length * 4;
  // A float32 printed shortest takes 9 to 11 characters, say 10 on average.
  if (format === 'json') return files * images * prompts.reduce((sum, p) => sum + JSON.stringify(p).length + 18, 0);
  // Parquet: dictionary indices of three strings (about 2 bytes) and the float values.
  return images * prompts.length * (2 + 4 * files);
}

/** Outputs at least this large are announced before they are written. */
export const LARGE_OUTPUT_BYTES = 256 * 1024 ** 2;

/** A sentence announcing a large similarity output, or null when it is not large. */
export function largeOutputNotice(format: SimilarityFormat, images: number, prompts: readonly string[], withProbabilities: boolean): string | null {
  const bytes = estimatedSimilarityBytes(format, images, prompts, withProbabilities);
  if (bytes < LARGE_OUTPUT_BYTES) return null;
  const others = SIMILARITY_FORMATS.filter((f) => f !== format && f !== 'none').map((f) => `${f} about ${formatBytes(estimatedSimilarityBytes(f, images, prompts, withProbabilities))}`);
  return `writing ${images} images × ${prompts.length} prompts as ${format}: about ${formatBytes(bytes)} (${others.join(', ')}; --similarities none writes no matrix)`;
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GB` : `${Math.round(bytes / 1024 ** 2)} MB`;
}
