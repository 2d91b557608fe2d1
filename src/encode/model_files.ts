/**
 * A model's small JSON files (config.json, preprocessor_config.json, tokenizer.json, …), read by zeroshot itself:
 * from the folder, or for a hub id from the model cache, downloading what is missing. Downloads land where
 * Transformers.js's file cache keeps them (`<cache>/<id>/<file>`, or `<cache>/<id>/<revision>/<file>` for another
 * revision than main), so both share one copy and `--offline` finds them.
 */
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { dirname, join } from 'node:path';
import type { HubSettings } from './transformers_adapter.js';

export type JsonObject = Readonly<Record<string, unknown>>;

export interface ModelLocation {
  /** Hub id, or the absolute folder. */
  readonly id: string;
  readonly kind: 'hub' | 'folder';
  readonly path?: string;
  readonly revision: string;
}

/** Local path of `file` for this model: in its folder, or where the cache keeps a hub file. */
export function localModelFile(location: ModelLocation, hub: HubSettings, file: string): string {
  if (location.path) return join(location.path, file);
  const base = location.revision === 'main' ? join(hub.cacheDir, location.id) : join(hub.cacheDir, location.id, location.revision);
  return join(base, file);
}

/** Files under `onnx/` that are present locally (folder, or already cached for a hub id). */
export async function localOnnxFiles(location: ModelLocation, hub: HubSettings): Promise<string[]> {
  const dir = dirname(localModelFile(location, hub, 'onnx/x'));
  if (!existsSync(dir)) return [];
  return (await readdir(dir)).filter((name) => name.endsWith('.onnx') || name.endsWith('.onnx_data')).sort();
}

/** Streams `file` of a hub model into the cache; false when the hub has no such file. */
async function download(location: ModelLocation, hub: HubSettings, file: string, target: string): Promise<boolean> {
  const url = `${hub.endpoint}${location.id}/resolve/${encodeURIComponent(location.revision)}/${file}`;
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error(`cannot download ${url}: ${(error as Error).message}`, { cause: error });
  }
  if (response.status === 404) return false;
  if (!response.ok || !response.body) throw new Error(`cannot download ${url}: HTTP ${response.status} ${response.statusText}`);
  await mkdir(dirname(target), { recursive: true });
  // Renamed into place, so a reader never sees half a file.
  const partial = `${target}.${process.pid}.partial`;
  await pipeline(Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), createWriteStream(partial));
  await rename(partial, target);
  return true;
}

/**
 * The local path of one of the model's files, downloading it into the cache for a hub id; undefined when the model
 * has no such file.
 */
export async function ensureModelFile(location: ModelLocation, hub: HubSettings, file: string): Promise<string | undefined> {
  const path = localModelFile(location, hub, file);
  if (existsSync(path)) return path;
  if (location.kind === 'folder') return undefined;
  if (hub.offline) throw new Error(`${file} is not in the model cache (${path}) and --offline forbids downloading it`);
  return (await download(location, hub, file, path)) ? path : undefined;
}

/**
 * The parsed JSON file, or undefined when the model has none. Errors say which file and why: not in the folder,
 * not cached while offline, not valid JSON.
 */
export async function readModelJson(location: ModelLocation, hub: HubSettings, file: string): Promise<JsonObject | undefined> {
  const path = await ensureModelFile(location, hub, file);
  if (!path) return undefined;
  const text = await readFile(path, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${path} must hold a JSON object`);
  return value as JsonObject;
}
