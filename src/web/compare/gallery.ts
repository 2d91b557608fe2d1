/** The images whose prediction changed against the baseline, per run, for the strategy shown. */
import { byId, h } from '../common/dom.js';
import { comparison as c, data, state } from './context.js';

/** Draws the gallery and returns how many thumbnails it shows. */
export function drawGallery(): number {
  const target = byId('gallery');
  target.replaceChildren();
  let shown = 0;
  data.gallery.cells.forEach((cell, k) => {
    if (cell.strategy !== state.strategy) return;
    target.appendChild(h('h3', null, `${cell.run}: ${cell.total} changed${cell.total > cell.images.length ? ` (first ${cell.images.length} shown)` : ''}`));
    if (!cell.images.length) {
      target.appendChild(h('p', { className: 'empty' }, 'No image changed.'));
      return;
    }
    target.appendChild(h('div', { className: 'tiles' }, cell.images.map((index, n) => {
      const image = data.gallery.images[index];
      const [label, from, to] = data.gallery.details[k][n];
      shown += 1;
      return h('div', { className: 'tile', title: image.key },
        image.src ? h('img', { src: image.src, alt: image.key, width: data.gallery.size, height: data.gallery.size }) : h('div', { className: 'missing' }),
        h('div', null, image.key),
        h('div', null, h('span', { className: 'from' }, from), ' → ', h('span', { className: 'to' }, to)),
        label ? h('div', { className: 'hint' }, `label: ${label}`) : null);
    })));
  });
  byId('gallery-hint').textContent = `Baseline ${c.baseline}’s class → the run’s class, for strategy ${state.strategy}. changed.csv lists every one.`;
  return shown;
}
