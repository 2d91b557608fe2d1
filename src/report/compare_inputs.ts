import { basename, resolve } from 'node:path';
import type { ImageAttribute } from '../evaluate/audit.js';
import type { AlignedRun, ComparisonInput, ComparisonSettings } from '../evaluate/compare/compare_runs.js';
import { readPredictionsFile, readRunFile, type ComparedRun, type PredictionTable, type RunFile } from './result_files.js';

/** A results folder as compare reads it. */
export interface LoadedRun {
  readonly dir: string;
  readonly run: RunFile;
  readonly classes: readonly string[];
  readonly probe: readonly boolean[];
  readonly table: PredictionTable;
}

/** Reads run.json and predictions.csv of a results folder (each checked for its schema version). */
export async function loadRun(dir: string): Promise<LoadedRun> {
  const run = await readRunFile(dir);
  const classes = run.spec.classes.map((c) => c.name);
  const table = await readPredictionsFile(dir, classes);
  if (!table) throw new Error(`${dir}: no predictions.csv, so there is nothing to compare; run zeroshot run again into this folder`);
  return { dir, run, classes, probe: run.spec.classes.map((c) => c.probe), table };
}

/** Names runs by their folder; folders of the same name get their path instead. */
function runNames(dirs: readonly string[]): string[] {
  const names = dirs.map((dir) => basename(resolve(dir)));
  return names.map((name, i) => (names.indexOf(name) !== names.lastIndexOf(name) ? dirs[i] : name));
}

/**
 * The identity of each row: its content hash (or key), with the occurrence number among the rows of the same
 * identity in key order, so two copies of one file in a folder pair with the two copies in another.
 */
function rowIds(table: PredictionTable, bySha: boolean): string[] {
  const base = bySha ? table.contentHashes! : table.keys;
  const order = base.map((_, i) => i).sort((a, b) => (base[a] < base[b] ? -1 : base[a] > base[b] ? 1 : table.keys[a] < table.keys[b] ? -1 : table.keys[a] > table.keys[b] ? 1 : 0));
  const ids = new Array<string>(base.length);
  let previous = '';
  let occurrence = 0;
  for (const i of order) {
    occurrence = base[i] === previous ? occurrence + 1 : 0;
    previous = base[i];
    ids[i] = `${base[i]}#${occurrence}`;
  }
  return ids;
}

const listed = (items: readonly string[], limit = 5) => items.slice(0, limit).join('; ') + (items.length > limit ? `; … (${items.length} in all)` : '');

export interface Alignment {
  readonly input: ComparisonInput;
  readonly alignedBy: 'sha256' | 'key';
  readonly runs: readonly ComparedRun[];
}

/**
 * Puts the runs' predictions on the images every run has (by content hash when every predictions.csv has one,
 * else by key), in the baseline's row order and a common class list (the baseline's classes, then any other
 * run's new ones). Refuses runs whose labels (or group values) disagree for an image, naming them.
 */
export function alignRuns(loaded: readonly LoadedRun[], baseline: number, settings: ComparisonSettings): Alignment {
  if (loaded.length < 2) throw new Error('compare needs at least two results folders');
  const names = runNames(loaded.map((l) => l.dir));
  const bySha = loaded.every((l) => l.table.contentHashes !== null);
  const ids = loaded.map((l) => rowIds(l.table, bySha));
  const rowOf = ids.map((list) => new Map(list.map((id, row) => [id, row])));
  const sharedRows = ids[baseline].flatMap((id, row) => (rowOf.every((map) => map.has(id)) ? [row] : []));
  const sharedIds = sharedRows.map((row) => ids[baseline][row]);
  const rowsIn = rowOf.map((map) => sharedIds.map((id) => map.get(id)!));

  const classes = [...loaded[baseline].classes];
  for (const l of loaded) for (const c of l.classes) if (!classes.includes(c)) classes.push(c);
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const probe = classes.map((c) => loaded.some((l) => l.probe[l.classes.indexOf(c)] === true));
  const toCommon = loaded.map((l) => Int32Array.from(l.classes, (c) => classIndex.get(c)!));

  // Labels: each image's known label must be the same in every run that has one.
  const truth = new Int32Array(sharedIds.length).fill(-1);
  const labelConflicts: string[] = [];
  const labelSource = new Int32Array(sharedIds.length).fill(-1);
  loaded.forEach((l, r) => {
    if (!l.table.truth) return;
    rowsIn[r].forEach((row, i) => {
      const own = l.table.truth![row];
      if (own < 0) return;
      const label = toCommon[r][own];
      if (truth[i] < 0) {
        truth[i] = label;
        labelSource[i] = r;
      } else if (truth[i] !== label) {
        labelConflicts.push(`${l.table.keys[row]}: '${classes[truth[i]]}' in ${names[labelSource[i]]}, '${classes[label]}' in ${names[r]}`);
      }
    });
  });
  if (labelConflicts.length) {
    throw new Error(`the runs' labels disagree for ${labelConflicts.length} shared images (${listed(labelConflicts)}); compare runs made with the same labels file`);
  }
  const probeLabels = sharedIds.flatMap((_, i) => (truth[i] >= 0 && probe[truth[i]] ? [loaded[baseline].table.keys[rowsIn[baseline][i]]] : []));
  if (probeLabels.length) throw new Error(`images labelled with a class that another run's spec makes a harm probe: ${listed(probeLabels)}`);

  // Group values: the same rule as labels.
  const groupNames = [...new Set(loaded.flatMap((l) => [...l.table.groups.keys()]))];
  const groupConflicts: string[] = [];
  const attributes: ImageAttribute[] = groupNames.map((name) => {
    const values: (string | null)[] = new Array(sharedIds.length).fill(null);
    const source = new Int32Array(sharedIds.length).fill(-1);
    loaded.forEach((l, r) => {
      const column = l.table.groups.get(name);
      if (!column) return;
      rowsIn[r].forEach((row, i) => {
        const value = column[row];
        if (value === null) return;
        if (values[i] === null) {
          values[i] = value;
          source[i] = r;
        } else if (values[i] !== value) {
          groupConflicts.push(`${l.table.keys[row]} ${name}: '${values[i]}' in ${names[source[i]]}, '${value}' in ${names[r]}`);
        }
      });
    });
    return { name, values };
  });
  if (groupConflicts.length) throw new Error(`the runs' group values disagree for ${groupConflicts.length} shared images (${listed(groupConflicts)}); compare runs made with the same labels file`);

  const aligned: AlignedRun[] = loaded.map((l, r) => ({
    name: names[r],
    predictions: new Map([...l.table.predicted].map(([strategy, predicted]) => [strategy, Int32Array.from(rowsIn[r], (row) => toCommon[r][predicted[row]])])),
  }));
  const baseTable = loaded[baseline].table;
  return {
    alignedBy: bySha ? 'sha256' : 'key',
    runs: loaded.map((l, r) => ({
      name: names[r],
      dir: l.dir,
      model: l.run.model.id,
      dtype: l.run.model.dtype,
      spec: l.run.spec.name,
      strategies: l.table.strategies,
      shared: sharedIds.length,
      left_out: l.table.keys.length - sharedIds.length,
      images_root: l.run.images_root,
    })),
    input: {
      classes,
      probe,
      keys: rowsIn[baseline].map((row) => baseTable.keys[row]),
      contentHashes: rowsIn[baseline].map((row) => baseTable.contentHashes?.[row] ?? null),
      truth,
      attributes,
      runs: aligned,
      baseline,
      settings,
    },
  };
}
