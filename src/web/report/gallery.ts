/** The images of the selected confusion cell, each with its best prompts. */
import type { GalleryImage } from '../../report/html_report.js';
import { empty } from '../common/blocks.js';
import { fill, h } from '../common/dom.js';
import { fixed, int } from '../common/format.js';
import { classLabel, currentCells, data, state } from './context.js';

export function renderGallery(): void {
  if (!state.cell) {
    fill('gallery', empty('Click a cell of the confusion matrix (or a count in its table) to see those images.'));
    return;
  }
  const { truth: t, predicted: p } = state.cell;
  const cell = currentCells().find((c) => c.truth === t && c.predicted === p);
  const head = h('div', { className: 'gallery-head' },
    h('div', { className: 'cellname' }, t < 0 ? 'No label' : `True ${data.classes[t]}`, h('span', { className: 'arrow', 'aria-hidden': 'true' }, '→'), `predicted ${classLabel(p)}`),
    h('div', { className: 'hint' }, cell ? `${int(cell.total)}${cell.total === 1 ? ' image' : ' images'} with ${state.strategy}${t === p ? ' (correct)' : t >= 0 ? ' (errors)' : ''}` : ''));
  if (!cell) {
    fill('gallery', head, empty(`No image in this cell with ${state.strategy}.`));
    return;
  }
  const more = cell.total - cell.images.length;
  fill('gallery', head,
    h('div', { className: 'thumbs' }, cell.images.map((i) => thumbnail(data.gallery.images[i], t))),
    more > 0 ? h('p', { className: 'more' }, `and ${int(more)} more`) : null);
}

/** An image with its best prompts, those of its true class marked. */
function thumbnail(image: GalleryImage, truth: number): HTMLElement {
  const size = data.gallery.size;
  const picture = image.src
    ? h('img', { src: image.src, alt: image.key, width: size, height: size, decoding: 'async' })
    : h('div', { className: 'missing' }, 'image not readable');
  return h('figure', { className: 'thumb' }, picture,
    h('figcaption', null,
      h('div', { className: 'key', title: image.key }, image.key),
      h('ol', null, image.top.map(([prompt, score]) => {
        const own = data.promptClass[prompt] === truth;
        return h('li', { className: own ? 'own' : null, title: `${data.prompts[prompt]} — ${data.classes[data.promptClass[prompt]]}` },
          h('span', { className: 'score' }, fixed(score, 2)),
          h('span', { className: 'mark', 'aria-label': own ? 'true class' : null }, own ? '✓' : ''),
          h('span', { className: 'prompt' }, data.prompts[prompt]));
      }))));
}
