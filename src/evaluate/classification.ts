/** Per-class precision/recall/F1 with support (the number of true instances). */
export interface ClassMetrics {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly support: number;
}

export interface ClassificationMetrics {
  /** Images with a label (unlabelled ones, marked -1, are left out). */
  readonly n: number;
  readonly accuracy: number;
  /** Mean recall over the classes that occur in the labels (as scikit-learn's balanced_accuracy_score). */
  readonly balanced_accuracy: number;
  /**
   * Top-5 accuracy as CLIP_benchmark reports it: the true class among the strategy's 5 best; null with fewer than
   * 5 classes (CLIP_benchmark's NaN) or when the best classes were not given.
   */
  readonly acc5?: number | null;
  /** CLIP_benchmark's `mean_per_class_recall` (scikit-learn's balanced_accuracy_score): the same value as balanced_accuracy. */
  readonly mean_per_class_recall?: number;
  readonly per_class: Record<string, ClassMetrics>;
  readonly classes: readonly string[];
  /** confusion[true][predicted], classes in spec order. */
  readonly confusion: number[][];
}

/** Confusion counts: rows are true classes, columns predicted; entries with truth < 0 (unlabelled) are skipped. */
export function confusionMatrix(truth: Int32Array, predicted: Int32Array, numClasses: number): number[][] {
  if (truth.length !== predicted.length) throw new Error(`${truth.length} labels for ${predicted.length} predictions`);
  const matrix = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < truth.length; i++) if (truth[i] >= 0) matrix[truth[i]][predicted[i]] += 1;
  return matrix;
}

/** classificationMetrics' accuracy without the confusion matrix (classes² counts): correct over labelled images. */
export function accuracyOfPredictions(truth: Int32Array, predicted: Int32Array): number {
  let n = 0;
  let correct = 0;
  for (let i = 0; i < truth.length; i++) {
    if (truth[i] < 0) continue;
    n++;
    if (truth[i] === predicted[i]) correct++;
  }
  return accuracyOfCounts(correct, n);
}

/** Accuracy from its counts, as accuracyOfPredictions gives it (0 without labelled images). */
export function accuracyOfCounts(correct: number, labelled: number): number {
  return ratio(correct, labelled);
}

/** Divides, giving 0 for an empty denominator (scikit-learn's zero_division=0). */
function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : numerator / denominator;
}

/** Share of labelled images whose class is among the first 5 of their row of `top` (rows × `topCount`, best first). */
export function topFiveAccuracy(truth: Int32Array, top: Int32Array, topCount: number, numClasses: number): number | null {
  if (numClasses < 5 || topCount < 5) return null;
  let n = 0;
  let hits = 0;
  for (let i = 0; i < truth.length; i++) {
    if (truth[i] < 0) continue;
    n++;
    for (let r = 0; r < 5; r++) if (top[i * topCount + r] === truth[i]) hits++;
  }
  return ratio(hits, n);
}

/**
 * Accuracy, balanced accuracy (= mean per-class recall), per-class precision/recall/F1 and the confusion matrix;
 * with each image's best classes (`best`: rows × count, best first), top-5 accuracy too.
 */
export function classificationMetrics(
  truth: Int32Array,
  predicted: Int32Array,
  classes: readonly string[],
  best?: { readonly top: Int32Array; readonly count: number },
): ClassificationMetrics {
  const confusion = confusionMatrix(truth, predicted, classes.length);
  let n = 0;
  let correct = 0;
  const perClass: [string, ClassMetrics][] = [];
  const recalls: number[] = [];
  classes.forEach((name, c) => {
    const support = confusion[c].reduce((a, b) => a + b, 0);
    const predictedCount = confusion.reduce((sum, row) => sum + row[c], 0);
    const truePositives = confusion[c][c];
    const precision = ratio(truePositives, predictedCount);
    const recall = ratio(truePositives, support);
    perClass.push([name, { precision, recall, f1: ratio(2 * precision * recall, precision + recall), support }]);
    n += support;
    correct += truePositives;
    if (support > 0) recalls.push(recall);
  });
  const balanced = ratio(recalls.reduce((a, b) => a + b, 0), recalls.length);
  return {
    n,
    accuracy: ratio(correct, n),
    balanced_accuracy: balanced,
    ...(best ? { acc5: topFiveAccuracy(truth, best.top, best.count, classes.length) } : {}),
    mean_per_class_recall: balanced,
    // fromEntries defines own properties: a class named `__proto__` is a key, not the prototype.
    per_class: Object.fromEntries(perClass),
    classes,
    confusion,
  };
}

/** Above this many classes metrics.json holds the confusion matrix as its non-zero cells (a dense one is classes²). */
export const DENSE_CONFUSION_MAX_CLASSES = 100;
/** Off-diagonal confusion cells listed as the most confused pairs. */
export const TOP_CONFUSED_PAIRS = 50;

/** One cell of the confusion matrix: [true class, predicted class, count]. */
export type ConfusionCell = readonly [number, number, number];

/** A (true, predicted) pair of classes and how many images of the first were predicted as the second. */
export interface ConfusedPair {
  readonly truth: string;
  readonly predicted: string;
  readonly count: number;
}

/** Metrics as metrics.json holds them: the confusion matrix dense for few classes, as non-zero cells for many. */
export type WrittenClassificationMetrics = Omit<ClassificationMetrics, 'confusion'> & {
  /** confusion[true][predicted], when the spec has at most DENSE_CONFUSION_MAX_CLASSES classes. */
  readonly confusion?: number[][];
  /** The non-zero cells, by true then predicted class, when it has more. */
  readonly confusion_cells?: readonly ConfusionCell[];
  /** The largest off-diagonal cells, most images first (ties by true, then predicted class order); absent in older files. */
  readonly top_confused?: readonly ConfusedPair[];
};

/** The non-zero cells of a confusion matrix, by true then predicted class. */
export function confusionCells(confusion: readonly (readonly number[])[]): ConfusionCell[] {
  const cells: ConfusionCell[] = [];
  confusion.forEach((row, t) => row.forEach((count, p) => {
    if (count) cells.push([t, p, count]);
  }));
  return cells;
}

/** The metrics of one strategy as metrics.json writes them (see WrittenClassificationMetrics). */
export function writtenMetrics(metrics: ClassificationMetrics): WrittenClassificationMetrics {
  const { confusion, ...rest } = metrics;
  const cells = confusionCells(confusion);
  const top_confused = cells
    .filter(([t, p]) => t !== p)
    .sort((a, b) => b[2] - a[2] || a[0] - b[0] || a[1] - b[1])
    .slice(0, TOP_CONFUSED_PAIRS)
    .map(([t, p, count]) => ({ truth: metrics.classes[t], predicted: metrics.classes[p], count }));
  return metrics.classes.length > DENSE_CONFUSION_MAX_CLASSES ? { ...rest, confusion_cells: cells, top_confused } : { ...rest, confusion, top_confused };
}

/** The dense confusion matrix of written metrics, whichever way they hold it. */
export function denseConfusion(metrics: WrittenClassificationMetrics): number[][] {
  if (metrics.confusion) return metrics.confusion;
  const matrix = metrics.classes.map(() => new Array<number>(metrics.classes.length).fill(0));
  for (const [t, p, count] of metrics.confusion_cells ?? []) matrix[t][p] = count;
  return matrix;
}
