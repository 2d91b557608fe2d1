/**
 * Towers of models that ship only a combined graph (`onnx/model.onnx`): each tower is extracted once into the model
 * cache (`<cache>/zeroshot-towers/<key>/`, a folder in the Hugging Face layout that Transformers.js loads like any
 * model) and reused while the combined file is unchanged. Measured on the Chinese-CLIP fixture in
 * bench/combined_graph.ts: the extracted tower gives the combined graph's numbers bit for bit, and an image batch no
 * longer pays for a text encoding (nor a text batch for an image).
 */
import { existsSync, statSync } from 'node:fs';
import { copyFile, link, mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fingerprint } from './cache/fingerprint.js';
import type { JsonObject } from './model_files.js';
import { extractOnnxOutputs } from './onnx_extract.js';

export interface TowerExtraction {
  /** The combined graph on disk. */
  readonly combined: string;
  /** The output the tower must compute. */
  readonly output: string;
  /** File name of the tower under the extracted folder's `onnx/`, e.g. `text_model_quantized.onnx`. */
  readonly towerFile: string;
  /** The model's config.json, copied beside the tower (Transformers.js reads it). */
  readonly config: JsonObject;
  readonly cacheDir: string;
  /** The local path of an external-data file the graph names (downloading it for a hub model). */
  readonly externalFile: (name: string) => Promise<string>;
}

/** The folder holding the extracted tower, extracting it first when needed. */
export async function extractedTowerFolder(request: TowerExtraction): Promise<string> {
  const combined = resolve(request.combined);
  const { size, mtimeMs } = statSync(combined);
  const key = fingerprint({ kind: 'zeroshot-tower', combined, size, mtimeMs, output: request.output, file: request.towerFile }).slice(0, 24);
  const folder = join(request.cacheDir, 'zeroshot-towers', key);
  const tower = join(folder, 'onnx', request.towerFile);
  if (existsSync(tower)) return folder;
  await mkdir(dirname(tower), { recursive: true });
  await writeFile(join(folder, 'config.json'), JSON.stringify(request.config));
  const staged = `${tower}.${process.pid}.staged`;
  const { externalData } = extractOnnxOutputs(combined, staged, [request.output]);
  // ONNX Runtime finds external data beside the graph file, under the name the graph records, and refuses a
  // symlink that leads out of the graph's folder: a hard link, or a copy across file systems. The tower file is
  // renamed into place last: once it exists, the folder is complete.
  for (const file of externalData) {
    const target = join(folder, 'onnx', file);
    if (existsSync(target)) continue;
    const data = await request.externalFile(file);
    await link(data, target).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EXDEV') throw error;
      await copyFile(data, target);
    });
  }
  await rename(staged, tower);
  return folder;
}
