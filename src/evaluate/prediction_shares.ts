/**
 * How many images each strategy predicts as each class, overall and per value of each group column, against the
 * saved run's predictions: what an edit does to a run without labels (and the representation view of one with).
 * One pass over the predictions per strategy; the saved run's side (its counts, the group columns as codes) is
 * made once per session by sharesBaseline.
 */
import type { ImageAttribute } from './audit.js';

/** Images predicted as each class, in the scored spec's class order; `saved`: the saved run's count of the class of that name. */
export interface ClassCounts {
  readonly counts: readonly number[];
  /** null: the saved run has no class of that name, or not this strategy. */
  readonly saved: readonly (number | null)[];
}

/** One strategy's predicted classes. Shares are counts over `images` (overall) or over a group value's `images`. */
export interface StrategyShares extends ClassCounts {
  readonly images: number;
  /** Images whose predicted class (by name) is not the saved run's with this strategy; null: the saved run has no such strategy. */
  readonly changed: number | null;
  /** Group column → value → its images and their counts (images whose value is unknown are in no group). */
  readonly groups: Record<string, Record<string, ClassCounts & { readonly images: number }>>;
}

/** A group column with each image's value as a code (an index into `values`; −1: unknown). */
interface GroupCodes {
  readonly name: string;
  readonly values: readonly string[];
  readonly codes: Int32Array;
  /** Images per value. */
  readonly sizes: Int32Array;
}

/** A strategy's class counts as one pass fills them: overall [C], and per group column [values × C]. */
interface Tally {
  readonly overall: Int32Array;
  readonly byGroup: readonly Int32Array[];
}

/** The saved run's side of every comparison, made once: its classes, its tallies per strategy, the group codes. */
export interface SharesBaseline {
  readonly images: number;
  readonly classes: readonly string[];
  readonly predictions: ReadonlyMap<string, Int32Array>;
  readonly tallies: ReadonlyMap<string, Tally>;
  readonly groups: readonly GroupCodes[];
}

function groupCodes(attribute: ImageAttribute): GroupCodes {
  const index = new Map<string, number>();
  const codes = new Int32Array(attribute.values.length);
  attribute.values.forEach((value, i) => {
    if (value === null) {
      codes[i] = -1;
      return;
    }
    let code = index.get(value);
    if (code === undefined) index.set(value, (code = index.size));
    codes[i] = code;
  });
  const sizes = new Int32Array(index.size);
  for (const code of codes) if (code >= 0) sizes[code] += 1;
  return { name: attribute.name, values: [...index.keys()], codes, sizes };
}

/**
 * The one pass: counts per class overall and per group value, and (given `savedAsNew`, the saved prediction's
 * class as an index of the new classes, −1 for a class gone, and `saved`, the saved predictions) the images whose
 * class changed.
 */
function tally(predicted: Int32Array, numClasses: number, groups: readonly GroupCodes[], saved?: { readonly predicted: Int32Array; readonly asNew: Int32Array }): Tally & { readonly changed: number } {
  const overall = new Int32Array(numClasses);
  const byGroup = groups.map((g) => new Int32Array(g.values.length * numClasses));
  const codes = groups.map((g) => g.codes);
  let changed = 0;
  for (let i = 0; i < predicted.length; i++) {
    const p = predicted[i];
    overall[p] += 1;
    for (let g = 0; g < codes.length; g++) {
      const code = codes[g][i];
      if (code >= 0) byGroup[g][code * numClasses + p] += 1;
    }
    if (saved && saved.asNew[saved.predicted[i]] !== p) changed += 1;
  }
  return { overall, byGroup, changed };
}

function checkLength(what: string, length: number, images: number): void {
  if (length !== images) throw new Error(`prediction shares: ${what} has ${length} values for ${images} images; every column must have one value per image`);
}

/** The saved run's predictions (strategy → class index of `classes` per image) and group values, made ready for predictionShares. */
export function sharesBaseline(classes: readonly string[], predictions: ReadonlyMap<string, Int32Array>, groupValues: readonly ImageAttribute[]): SharesBaseline {
  const images = predictions.values().next().value?.length ?? groupValues[0]?.values.length ?? 0;
  groupValues.forEach((g) => checkLength(`group column '${g.name}'`, g.values.length, images));
  predictions.forEach((p, strategy) => checkLength(`strategy '${strategy}'`, p.length, images));
  const groups = groupValues.map(groupCodes);
  const tallies = new Map([...predictions].map(([strategy, predicted]) => [strategy, tally(predicted, classes.length, groups)] as const));
  return { images, classes, predictions, tallies, groups };
}

/**
 * Per strategy of `predictions` (class indices of `classes`, one per image): images predicted as each class, overall
 * and per group value, the saved run's counts of the same class names, and how many images changed class.
 */
export function predictionShares(predictions: ReadonlyMap<string, Int32Array>, classes: readonly string[], baseline: SharesBaseline): Record<string, StrategyShares> {
  const C = classes.length;
  const savedIndex = new Map(baseline.classes.map((name, k) => [name, k]));
  // New class k is saved class savedOf[k] (−1: new); saved class k is new class asNew[k] (−1: gone).
  const savedOf = Int32Array.from(classes, (name) => savedIndex.get(name) ?? -1);
  const newIndex = new Map(classes.map((name, k) => [name, k]));
  const asNew = Int32Array.from(baseline.classes, (name) => newIndex.get(name) ?? -1);
  const C0 = baseline.classes.length;
  const countsOf = (counts: Int32Array, offset: number) => Array.from(counts.subarray(offset, offset + C));
  const savedCountsOf = (counts: Int32Array | undefined, offset: number) =>
    Array.from(savedOf, (k) => (counts && k >= 0 ? counts[offset + k] : null));
  const result: Record<string, StrategyShares> = {};
  for (const [strategy, predicted] of predictions) {
    checkLength(`strategy '${strategy}'`, predicted.length, baseline.images);
    const savedPredicted = baseline.predictions.get(strategy);
    const savedTally = baseline.tallies.get(strategy);
    const now = tally(predicted, C, baseline.groups, savedPredicted && { predicted: savedPredicted, asNew });
    const groups: StrategyShares['groups'] = {};
    baseline.groups.forEach((g, gi) => {
      groups[g.name] = Object.fromEntries(g.values.map((value, v) => [value, {
        images: g.sizes[v],
        counts: countsOf(now.byGroup[gi], v * C),
        saved: savedCountsOf(savedTally?.byGroup[gi], v * C0),
      }]));
    });
    result[strategy] = {
      images: predicted.length,
      counts: countsOf(now.overall, 0),
      saved: savedCountsOf(savedTally?.overall, 0),
      changed: savedPredicted ? now.changed : null,
      groups,
    };
  }
  return result;
}
