/**
 * What the reader can do: pick a strategy, an attribute or a confusion cell. Each redraws the views it affects.
 * (The views import these for their buttons: a cycle of function references only, resolved before any click.)
 */
import { byId } from '../common/dom.js';
import { renderComparison } from './comparison.js';
import { markCurrentCell, renderClassTable, renderConfusionTable, renderHeatmap } from './confusion.js';
import { data, state } from './context.js';
import { renderGallery } from './gallery.js';
import { renderGroups } from './groups.js';
import { renderProbes } from './probes.js';

/** Every view that depends on the strategy. */
export function renderStrategyViews(): void {
  renderComparison();
  renderHeatmap();
  renderConfusionTable();
  renderClassTable();
  renderGallery();
  renderGroups();
  renderProbes();
}

export function selectStrategy(strategy: string): void {
  if (!data.strategies.includes(strategy)) return;
  state.strategy = strategy;
  byId<HTMLSelectElement>('strategy-select').value = strategy;
  renderStrategyViews();
}

export function selectAttribute(index: number): void {
  state.attribute = index;
  renderGroups();
  renderProbes();
}

/** Opens the gallery of a confusion cell; `reveal: false` keeps the page where it is. */
export function showCell(truth: number, predicted: number, reveal?: boolean): void {
  state.cell = { truth, predicted };
  renderGallery();
  renderConfusionTable();
  markCurrentCell();
  // Bring the gallery into view only when it is off screen, so clicking around the matrix does not jump.
  const card = byId('gallery-card');
  if (reveal !== false && card.getBoundingClientRect().top > window.innerHeight - 160) card.scrollIntoView({ block: 'start' });
}
