/** The report's data (the JSON the writer embedded) and what the reader has selected. */
import type { WrittenClassificationMetrics } from '../../evaluate/classification.js';
import type { ReportAttributeAudit, ReportData } from '../../report/html_report.js';
import { pageData } from '../common/dom.js';

export const data = pageData<ReportData>('report-data');
export const audit = data.audit;

/** A (true class, predicted class) cell of the confusion matrix; truth −1: images without a label. */
export interface Cell {
  readonly truth: number;
  readonly predicted: number;
}

export const state: {
  strategy: string | null;
  /** Index into the current strategy's audited attributes. */
  attribute: number;
  rankingAttribute: number;
  /** The cell whose gallery is open. */
  cell: Cell | null;
  /** The per-class table's filter, lower case. */
  classQuery: string;
} = { strategy: data.strategies[0] ?? null, attribute: 0, rankingAttribute: 0, cell: null, classQuery: '' };

/** A predicted class's name, marked when it is a harm probe. */
export function classLabel(k: number): string {
  return data.probe[k] ? `${data.classes[k]} (probe)` : data.classes[k];
}

export function truthLabel(k: number): string {
  return k < 0 ? 'no label' : data.classes[k];
}

export function currentMetrics(): WrittenClassificationMetrics | null {
  return data.metrics && state.strategy ? data.metrics[state.strategy] ?? null : null;
}

export function attributesOf(strategy: string | null): readonly ReportAttributeAudit[] {
  return audit && strategy && audit.strategies[strategy] ? audit.strategies[strategy].attributes : [];
}

export function currentAttribute(): ReportAttributeAudit | null {
  return attributesOf(state.strategy)[state.attribute] ?? null;
}

/** The gallery cells of the current strategy. */
export function currentCells(): ReportData['gallery']['cells'][string] {
  return (state.strategy && data.gallery.cells[state.strategy]) || [];
}
