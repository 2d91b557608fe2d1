/** comparison.html's script: draws every section from the JSON in #comparison-data (it computes no statistic). */
import './compare.css';
import { charts } from '../common/charts.js';
import { byId, fill, h } from '../common/dom.js';
import { comparison as c, data, grid, state, strategies } from './context.js';
import { drawGallery } from './gallery.js';
import { drawAgreement, drawForest, drawGaps } from './sections.js';

declare global {
  interface Window {
    /** What the tests read: the strategy shown, the charts drawn and the thumbnails shown. */
    __zeroshotComparison?: { readonly strategy: string | null; readonly charts: number; readonly tiles: number };
  }
}

function draw(): void {
  drawForest();
  drawGaps();
  drawAgreement();
  const tiles = drawGallery();
  window.__zeroshotComparison = { strategy: state.strategy, charts: charts.length, tiles };
}

byId('title').textContent = `Comparison against ${c.baseline}`;
byId('subtitle').textContent = `${c.runs.length} runs, ${c.shared_images} shared images (aligned by ${c.aligned_by})`;
byId('runs-hint').textContent = `Every run is compared with ${c.baseline} on the ${c.shared_images} images all runs share; "left out": images of the run that another run lacks.`;
fill('runs-table', grid(['run', 'model', 'dtype', 'spec', 'strategies', 'left out'], c.runs.map((r) =>
  [r.name + (r.name === c.baseline ? ' (baseline)' : ''), r.model, r.dtype, r.spec, r.strategies.join(', '), String(r.left_out)])));
const select = byId<HTMLSelectElement>('strategy-select');
for (const s of strategies) select.appendChild(h('option', { value: s, title: data.strategyHelp[s] || '' }, s));
select.disabled = strategies.length < 2;
select.addEventListener('change', () => {
  state.strategy = select.value;
  draw();
});
draw();
document.body.dataset.ready = '1';
