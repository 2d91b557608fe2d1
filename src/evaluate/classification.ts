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

/** Divides, giving 0 for an empty denominator (scikit-learn's zero_division=0). */
function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : numerator / denominator;
}

/** Accuracy, balanced accuracy, per-class precision/recall/F1 and the confusion matrix. */
export function classificationMetrics(truth: Int32Array, predicted: Int32Array, classes: readonly string[]): ClassificationMetrics {
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
  return {
    n,
    accuracy: ratio(correct, n),
    balanced_accuracy: ratio(recalls.reduce((a, b) => a + b, 0), recalls.length),
    // fromEntries defines own properties: a class named `__proto__` is a key, not the prototype.
    per_class: Object.fromEntries(perClass),
    classes,
    confusion,
  };
}
