/** The lab's state: the session (the saved run), the history of specs, the newest score, what the user selected. */
import type { LabChange, LabChangeMetric, ScoreResponse, SessionResponse } from '../../server/lab_api.js';
import { History } from './history.js';
import type { LabDraft } from './spec_edit.js';

/**
 * A (true class, predicted class) cell of the confusion matrix, by class name (truth null: images without a label),
 * so that it stays the same cell when an edit moves the classes' indices.
 */
export interface Cell {
  readonly truth: string | null;
  readonly predicted: string;
}

export interface LabState {
  readonly session: SessionResponse;
  /** The specs edited, each with its label map (undo and redo restore both). */
  readonly history: History<LabDraft>;
  /** The newest score shown (of the current spec, or of an earlier one while the current is scoring or refused). */
  scored: ScoreResponse | null;
  /** The strategy the views show. */
  strategy: string | null;
  /** Index into the strategy's audited attributes. */
  attribute: number;
  /** The cell whose images are listed, and the image whose prompt scores are open. */
  cell: Cell | null;
  image: number | null;
}

let current: LabState | null = null;

export function startState(session: SessionResponse): LabState {
  current = { session, history: new History<LabDraft>({ spec: session.spec, labelMap: {} }), scored: null, strategy: null, attribute: 0, cell: null, image: null };
  return current;
}

export function lab(): LabState {
  if (!current) throw new Error('the lab has no session yet');
  return current;
}

/** One number of the newest score against the saved run, or null when the server sent none for it. */
export function changeOf(metric: LabChangeMetric, attribute: string | null = null, group: string | null = null): LabChange | null {
  const { scored, strategy } = lab();
  return scored?.changes.find((c) => c.strategy === strategy && c.metric === metric && c.attribute === attribute && c.group === group) ?? null;
}

/** A predicted class's name, marked when it is a harm probe (of the newest score's spec). */
export function classLabel(k: number): string {
  const spec = lab().scored?.spec;
  if (!spec) return '';
  return spec.probe[k] ? `${spec.classes[k]} (probe)` : spec.classes[k];
}

export function truthLabel(k: number): string {
  return k < 0 ? 'no label' : (lab().scored?.spec.classes[k] ?? '');
}

/** The selected cell's class indices in the newest score (truth −1: no label); null when none is selected or a class is gone. */
export function cellIndices(): { readonly truth: number; readonly predicted: number } | null {
  const { cell, scored } = lab();
  if (!cell || !scored) return null;
  const truth = cell.truth === null ? -1 : scored.spec.classes.indexOf(cell.truth);
  const predicted = scored.spec.classes.indexOf(cell.predicted);
  return (truth < 0 && cell.truth !== null) || predicted < 0 ? null : { truth, predicted };
}
