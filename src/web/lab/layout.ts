/** The lab's page skeleton: header with the actions, the spec editor beside the numbers. Ids are stable for tests. */
import { h } from '../common/dom.js';

const card = (id: string, title: string, hint: string | null, ...body: HTMLElement[]) =>
  h('section', { className: 'card', id, 'aria-labelledby': `${id}-title` },
    h('div', { className: 'card-head' }, h('div', null, h('h2', { id: `${id}-title` }, title), hint === null ? null : h('p', { className: 'hint', id: `${id}-hint` }, hint))),
    ...body);

const action = (id: string, text: string, label: string) =>
  h('button', { type: 'button', className: 'action', id, 'aria-label': label, title: label }, text);

export function labLayout(): HTMLElement[] {
  return [
    h('header', { className: 'top' },
      h('div', { className: 'wrap top-inner' },
        h('div', null, h('h1', { id: 'title' }, 'Prompt lab'), h('p', { className: 'subtitle', id: 'subtitle' })),
        h('div', { className: 'actions' },
          h('span', { id: 'status', className: 'status', role: 'status', 'aria-live': 'polite' }),
          action('undo', 'Undo', 'Undo the last edit (Ctrl+Z)'),
          action('redo', 'Redo', 'Redo (Shift+Ctrl+Z)'),
          action('download-yaml', 'Download YAML', 'Download the spec as a YAML file for zeroshot run --spec'),
          action('save-run', 'Save as run', 'Write a results folder, as zeroshot run with this spec'),
          h('label', { className: 'picker', for: 'strategy-select' }, 'Strategy', h('select', { id: 'strategy-select' }))))),
    h('div', { className: 'wrap' }, h('div', { id: 'notice', className: 'notice', role: 'alert', hidden: true })),
    h('div', { className: 'wrap lab-layout' },
      h('aside', { className: 'card editor', id: 'spec-editor', 'aria-labelledby': 'editor-title' }),
      h('main', { className: 'lab-results' },
        card('numbers', 'Against the saved run', 'Each number of this spec, with its difference from the saved run; marked when the saved value is outside this score’s 95% interval.',
          h('div', { className: 'tiles', id: 'summary-tiles' }), h('div', { className: 'scroll', id: 'strategy-table' })),
        card('shares', 'Predicted classes', '',
          h('div', { className: 'split' },
            h('div', { id: 'shares-chart', className: 'chart', role: 'img', 'aria-label': 'Share of the images predicted as each class, this spec beside the saved run' }),
            h('div', null, h('h3', null, 'Images that changed class since the saved run'), h('div', { id: 'shares-changed', className: 'scroll' }))),
          h('label', { className: 'controls', for: 'shares-attribute-select' }, 'Within the values of', h('select', { id: 'shares-attribute-select' })),
          h('div', { id: 'shares-table', className: 'scroll' })),
        card('confusion', 'Confusion matrix', 'Rows are true classes, each normalised to 100%. Click a cell (or a count in the table) for its images.',
          h('div', { id: 'heatmap', className: 'chart', role: 'img', 'aria-label': 'Confusion matrix heatmap' }),
          h('details', { id: 'confusion-details' }, h('summary', null, 'Counts as a table (keyboard accessible)'), h('div', { id: 'confusion-table', className: 'scroll' })),
          h('div', { id: 'cell-images', 'aria-live': 'polite' }),
          h('div', { id: 'image-scores', 'aria-live': 'polite' })),
        card('groups-section', 'Accuracy by group', null,
          h('label', { className: 'controls', for: 'attribute-select' }, 'Attribute', h('select', { id: 'attribute-select' })),
          h('div', { id: 'group-chart', className: 'chart', role: 'img', 'aria-label': 'Accuracy per group with confidence intervals' }),
          h('div', { id: 'group-table', className: 'scroll' }),
          h('h3', { id: 'gaps-title' }, 'Gaps between groups'),
          h('div', { id: 'gaps-table', className: 'scroll' })),
        card('probes-section', 'Harm probes', '',
          h('div', { id: 'probe-chart', className: 'chart', role: 'img', 'aria-label': 'Harm-probe rate per group' }),
          h('div', { id: 'probe-table', className: 'scroll' })),
        card('prompts-section', 'Prompts', 'Own-class top rate: how often a prompt is the best of all for images of its own class. Left out: the change in accuracy without it; negative means it helps.',
          h('div', { id: 'prompt-table', className: 'scroll' })))),
  ];
}
