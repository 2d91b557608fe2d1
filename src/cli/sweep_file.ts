import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { loadSpec } from '../input/spec.js';
import { parseStrategy } from '../score/strategies.js';

/**
 * A sweep file (YAML or JSON): models × specs × dtypes over one image folder and labels file. Relative paths
 * are relative to the sweep file's folder; a model that is not a folder there is a hub id.
 */
const modelEntry = z.union([
  z.string().min(1),
  z.strictObject({ model: z.string().min(1), name: z.string().min(1).optional(), dtypes: z.array(z.string().min(1)).min(1).optional() }),
]);

const sweepSchema = z.strictObject({
  images: z.string().min(1),
  labels: z.string().min(1).optional(),
  label_column: z.string().min(1).optional(),
  image_column: z.string().min(1).optional(),
  groups: z.array(z.string().min(1)).optional(),
  out: z.string().min(1),
  cache: z.string().min(1).optional(),
  offline: z.boolean().optional(),
  models: z.array(modelEntry).min(1),
  specs: z.array(z.string().min(1)).min(1),
  dtypes: z.array(z.string().min(1)).min(1).optional(),
  strategies: z.array(z.string().min(1)).min(1).optional(),
  baseline: z.string().min(1).optional(),
  bootstrap: z.number().int().min(0).optional(),
  seed: z.number().int().min(0).optional(),
  min_group_size: z.number().int().min(0).optional(),
  intersections: z.boolean().optional(),
  batch_size: z.number().int().min(1).optional(),
  threads: z.number().int().min(1).optional(),
});

type SweepDocument = z.infer<typeof sweepSchema>;

/** How to fix each entry, for error messages. */
const FIXES: Record<string, string> = {
  images: 'give the folder of images, e.g. images: ./fairface/val',
  labels: 'give the labels CSV, e.g. labels: ./fairface/labels.csv',
  label_column: "give the labels CSV's class column, e.g. label_column: race",
  image_column: "give the labels CSV's image column, e.g. image_column: file",
  groups: 'list label-CSV columns, e.g. groups: [gender, age]',
  out: 'give the folder the sweep writes into, e.g. out: results/sweep',
  cache: 'give an embedding cache file, e.g. cache: embeddings.sqlite',
  offline: 'write offline: true or offline: false',
  models: 'list model ids or folders, e.g. models: [Xenova/clip-vit-base-patch32, {model: ./my-clip, dtypes: [fp32]}]',
  specs: 'list built-in spec names or spec files, e.g. specs: [fairface-race, ./my-spec.yaml]',
  dtypes: 'list ONNX weight variants, e.g. dtypes: [fp32, q8]',
  strategies: 'list strategies, e.g. strategies: [sum, topk:2]',
  baseline: "give a combination's name, model.spec.dtype (e.g. clip-vit-base-patch32.fairface-race.fp32)",
  bootstrap: 'give a whole number of resamples (0: no intervals)',
  seed: 'give a whole number',
  min_group_size: 'give a whole number',
  intersections: 'write intersections: true (pairs of groups crossed, the default) or false',
  batch_size: 'give a whole number ≥ 1',
  threads: 'give a whole number ≥ 1',
};

export class SweepFileError extends Error {
  override readonly name = 'SweepFileError';
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    const where = issue.path.length ? `in ${issue.path.join('.')}` : 'at the top level';
    const allowed = issue.path.length ? 'model, name, dtypes' : Object.keys(sweepSchema.shape).join(', ');
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')} ${where}; allowed here: ${allowed}`;
  }
  // A union (a model as a string or a mapping): the branch the entry was meant as is the one with inner issues.
  if (issue.code === 'invalid_union') {
    const meant = issue.errors.find((branch) => branch.some((inner) => inner.path.length > 0));
    if (meant) return meant.map((inner) => describeIssue({ ...inner, path: [...issue.path, ...inner.path] })).join('; ');
    if (issue.path[0] === 'models') return `${issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('')}: expected a model id or folder, or a mapping; ${FIXES.models}`;
  }
  const entry = issue.path.length ? issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('') : '(top level)';
  const fix = FIXES[String(issue.path[0])];
  return `${entry}: ${issue.message}${fix ? `; ${fix}` : ''}`;
}

/** One run of a sweep. */
export interface SweepCombination {
  /** `model.spec.dtype`: its results folder's name under `out` and its name in the comparison. */
  readonly name: string;
  readonly model: string;
  readonly spec: string;
  readonly dtype: string;
  readonly dir: string;
}

export interface SweepPlan {
  readonly source: string;
  readonly images: string;
  readonly labels?: string;
  readonly labelColumn?: string;
  readonly imageColumn?: string;
  readonly groups: readonly string[];
  readonly out: string;
  readonly cache?: string;
  readonly offline: boolean;
  readonly strategies?: readonly string[];
  readonly bootstrap?: number;
  readonly seed?: number;
  readonly minGroupSize?: number;
  readonly intersections?: boolean;
  readonly batchSize?: number;
  readonly threads?: number;
  readonly combinations: readonly SweepCombination[];
  /** Results folder of the baseline combination (default: the first). */
  readonly baseline: string;
  /** Where the comparison of every combination is written. */
  readonly comparisonDir: string;
}

/** A name safe as a folder name: `/` and other separators become `_`. */
const slug = (text: string) => text.replace(/[^A-Za-z0-9._+-]+/g, '_').replace(/^\.+/, '_');

const isFolder = (path: string) => existsSync(path) && statSync(path).isDirectory();

/** Parses and validates a sweep file's text; `source` names the file in errors. Specs are loaded to check them. */
export async function parseSweepFile(text: string, source: string): Promise<SweepPlan> {
  const doc = parseDocument(text.replace(/^\uFEFF/, ''));
  if (doc.errors.length) throw new SweepFileError(`${source}: not valid YAML: ${doc.errors[0].message}`);
  const parsed = sweepSchema.safeParse(doc.toJS());
  if (!parsed.success) throw new SweepFileError(`${source}: ${parsed.error.issues.map(describeIssue).join('; ')}`);
  const sweep: SweepDocument = parsed.data;
  const here = dirname(resolve(source));
  const path = (p: string) => resolve(here, p);

  (sweep.strategies ?? []).forEach((name, i) => {
    try {
      parseStrategy(name);
    } catch (error) {
      throw new SweepFileError(`${source}: strategies[${i}]: ${(error as Error).message}`);
    }
  });
  const specs = await Promise.all(sweep.specs.map(async (entry, i) => {
    const file = path(entry);
    const asFile = existsSync(file) && !isFolder(file);
    try {
      await loadSpec(asFile ? file : entry);
    } catch (error) {
      throw new SweepFileError(`${source}: specs[${i}]: ${(error as Error).message}`);
    }
    return { spec: asFile ? file : entry, name: asFile ? basename(entry, extname(entry)) : entry };
  }));
  const out = path(sweep.out);
  const combinations: SweepCombination[] = [];
  sweep.models.forEach((entry, i) => {
    const given = typeof entry === 'string' ? { model: entry } : entry;
    const folder = path(given.model);
    const model = isFolder(folder) ? folder : given.model;
    const modelName = given.name ?? slug(isFolder(folder) ? basename(folder) : given.model.split('/').at(-1)!);
    const dtypes = given.dtypes ?? sweep.dtypes ?? ['fp32'];
    for (const spec of specs) {
      for (const dtype of dtypes) {
        const name = `${modelName}.${slug(spec.name)}.${slug(dtype)}`;
        if (combinations.some((c) => c.name === name)) {
          throw new SweepFileError(`${source}: models[${i}]: the combination ${name} is listed twice; give the model a different name: (models: [{model: ${given.model}, name: other}])`);
        }
        combinations.push({ name, model, spec: spec.spec, dtype, dir: join(out, name) });
      }
    }
  });
  const baseline = sweep.baseline === undefined ? combinations[0] : combinations.find((c) => c.name === sweep.baseline);
  if (!baseline) throw new SweepFileError(`${source}: baseline: '${sweep.baseline}' is none of the combinations (${combinations.map((c) => c.name).join(', ')}); ${FIXES.baseline}`);
  return {
    source,
    images: path(sweep.images),
    labels: sweep.labels && path(sweep.labels),
    labelColumn: sweep.label_column,
    imageColumn: sweep.image_column,
    groups: sweep.groups ?? [],
    out,
    cache: sweep.cache && path(sweep.cache),
    offline: sweep.offline ?? false,
    strategies: sweep.strategies,
    bootstrap: sweep.bootstrap,
    seed: sweep.seed,
    minGroupSize: sweep.min_group_size,
    intersections: sweep.intersections,
    batchSize: sweep.batch_size,
    threads: sweep.threads,
    combinations,
    baseline: baseline.dir,
    comparisonDir: join(out, 'comparison'),
  };
}

export async function readSweepFile(path: string): Promise<SweepPlan> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new SweepFileError(`${path}: cannot read the sweep file (${error.code === 'ENOENT' ? 'no such file' : error.message})`);
  });
  return parseSweepFile(text, path);
}
