/**
 * The confusion matrix of the newest score (heatmap, and as a table of buttons), the images of a clicked cell
 * (thumbnails by image index from the server) and every prompt's score of a clicked image.
 */
import { empty, table, td, th } from '../common/blocks.js';
import { disposeChart, showChartMessage } from '../common/charts.js';
import { byId, fill, h } from '../common/dom.js';
import { fixed, int, plural } from '../common/format.js';
import { drawConfusionHeatmap, markHeatmapCell, type HeatmapCell } from '../common/heatmap.js';
import { cellImages, imageScores, thumbnailUrl } from './api.js';
import { cellIndices, classLabel, lab, truthLabel } from './context.js';

/** Thumbnails listed per cell; the rest are counted. */
const CELL_IMAGES_SHOWN = 48;

let heatmapCells: HeatmapCell[] = [];
/** Answers to cell and image requests made before the newest one are dropped. */
let cellTicket = 0;
let imageTicket = 0;

function currentCells(): readonly (readonly [number, number, number])[] {
  const { scored, strategy } = lab();
  return (scored && strategy && scored.cells[strategy]) || [];
}

export function renderConfusion(): void {
  const { scored, strategy } = lab();
  const el = byId('heatmap');
  const confusion = scored && strategy ? (scored.metrics?.strategies[strategy]?.confusion ?? null) : null;
  const classes = scored?.spec.classes ?? [];
  if (!confusion) {
    if (scored?.metrics) {
      disposeChart(el);
      showChartMessage(el, `${int(classes.length)} classes: too many to draw; the table lists the non-empty cells.`);
    } else showChartMessage(el, 'No labels, so no confusion matrix: the table lists the images by predicted class (click a count for its images).');
    heatmapCells = [];
  } else {
    heatmapCells = drawConfusionHeatmap(el, { classes, columnLabels: classes.map((_, k) => classLabel(k)), confusion, onCell: showCell });
    markHeatmapCell(el, heatmapCells, cellIndices());
  }
  renderConfusionTable();
}

function renderConfusionTable(): void {
  const { scored } = lab();
  const cell = cellIndices();
  const classes = scored?.spec.classes ?? [];
  const cells = currentCells();
  const count = new Map(cells.map(([t, p, n]) => [`${t}>${p}`, n]));
  const truths = [...new Set(cells.map(([t]) => t))].sort((a, b) => (a < 0 ? 1 : b < 0 ? -1 : a - b));
  fill('confusion-table', table(
    [h('th', { scope: 'col' }, 'True ↓ / predicted →'), ...classes.map((_, p) => th(classLabel(p), true))],
    truths.map((t) => h('tr', null, h('th', { scope: 'row' }, truthLabel(t)), classes.map((_, p) => {
      const n = count.get(`${t}>${p}`) ?? 0;
      if (!n) return td(h('span', { className: 'ci' }, '·'), true);
      const pressed = cell?.truth === t && cell.predicted === p;
      return td(h('button', {
        className: `cell-button${t === p ? ' diagonal' : ''}`, type: 'button', 'data-truth': t, 'data-predicted': p,
        'aria-pressed': pressed ? 'true' : 'false', 'aria-label': `True ${truthLabel(t)}, predicted ${classes[p]}: ${int(n)} images`,
        on: { click: () => showCell(t, p) },
      }, int(n)), true);
    }))), 'matrix'));
}

/** Lists the images of a cell of the current strategy (asked of the server for the newest score). */
export function showCell(truth: number, predicted: number): void {
  const state = lab();
  const classes = state.scored?.spec.classes ?? [];
  state.cell = { truth: truth < 0 ? null : classes[truth], predicted: classes[predicted] };
  state.image = null;
  markHeatmapCell(byId('heatmap'), heatmapCells, cellIndices());
  renderConfusionTable();
  void renderCellImages();
  fill('image-scores');
}

/** The images of the selected cell for the newest score (after a new score: the same cell, new members). */
export async function renderCellImages(): Promise<void> {
  const { scored, strategy, cell: named } = lab();
  if (!scored || !strategy || !named) {
    fill('cell-images', empty('Click a cell of the confusion matrix to see its images.'));
    return;
  }
  const ticket = ++cellTicket;
  const head = h('div', { className: 'gallery-head' },
    h('div', { className: 'cellname' }, named.truth === null ? 'No label' : `True ${named.truth}`, h('span', { className: 'arrow', 'aria-hidden': 'true' }, '→'), `predicted ${named.predicted}`));
  const cell = cellIndices();
  if (!cell) {
    fill('cell-images', head, empty('This cell is gone: one of its classes is no longer in the spec.'));
    return;
  }
  let images: readonly number[];
  try {
    images = (await cellImages({ spec_hash: scored.spec_hash, strategy, truth: cell.truth, predicted: cell.predicted })).images;
  } catch (error) {
    if (ticket === cellTicket) fill('cell-images', head, empty(`The images could not be listed: ${(error as Error).message}`));
    return;
  }
  if (ticket !== cellTicket) return;
  const keys = lab().session.images.keys;
  const shown = images.slice(0, CELL_IMAGES_SHOWN);
  fill('cell-images', head,
    h('p', { className: 'hint' }, `${plural(images.length, 'image', 'images')} with ${strategy}. Click one for all its prompt scores.`),
    images.length ? h('div', { className: 'lab-thumbs' }, shown.map((i) => h('button', {
      type: 'button', className: `lab-thumb${lab().image === i ? ' selected' : ''}`, 'data-image': i, 'aria-label': `Image ${keys[i]}: show its prompt scores`, title: keys[i],
      on: { click: () => void showImage(i) },
    }, h('img', { src: thumbnailUrl(i), alt: '', width: 64, height: 64, loading: 'lazy', decoding: 'async' }), h('span', { className: 'key' }, keys[i])))) : empty('No image in this cell now.'),
    images.length > shown.length ? h('p', { className: 'more' }, `and ${int(images.length - shown.length)} more`) : null);
}

/** Every prompt's score of one image for the newest score, best first, its true class's prompts marked. */
export async function showImage(index: number): Promise<void> {
  const state = lab();
  const scored = state.scored;
  if (!scored) return;
  state.image = index;
  document.querySelectorAll<HTMLElement>('.lab-thumb').forEach((el) => el.classList.toggle('selected', Number(el.dataset.image) === index));
  const ticket = ++imageTicket;
  let answer;
  try {
    answer = await imageScores(index, scored.spec_hash);
  } catch (error) {
    if (ticket === imageTicket) fill('image-scores', empty(`The scores could not be read: ${(error as Error).message}`));
    return;
  }
  if (ticket !== imageTicket) return;
  const { spec } = scored;
  const label = state.session.images.labels?.[index] ?? null;
  const truth = label === null ? -1 : spec.classes.indexOf(label);
  const order = answer.scores.map((_, j) => j).sort((a, b) => answer.scores[b] - answer.scores[a]);
  fill('image-scores',
    h('div', { className: 'image-head' },
      h('img', { src: thumbnailUrl(index), alt: answer.key, width: 96, height: 96 }),
      h('div', null,
        h('div', { className: 'cellname' }, answer.key),
        h('div', { className: 'hint' }, `True class: ${label ?? 'no label'}`),
        h('div', { className: 'hint' }, Object.entries(answer.predicted).map(([s, p]) => `${s} → ${spec.classes[p]}`).join(' · ')))),
    table([th('Score', true, '100 · cosine similarity'), th('Prompt'), th('Class')], order.map((j) => {
      const own = spec.prompt_class[j] === truth;
      return h('tr', { className: own ? 'own' : null },
        td(fixed(answer.scores[j], 2), true),
        td([spec.prompts[j], own ? h('span', { className: 'own-mark', 'aria-label': 'a prompt of the true class' }, ' ✓') : null]),
        td(classLabel(spec.prompt_class[j])));
    }), 'image-score-table'));
}
