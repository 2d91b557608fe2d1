/**
 * The prompt lab's page (served by `zeroshot serve`): edit the spec, and every edit re-scores the saved run's images
 * on the server; the numbers are drawn against the saved run's. The client keeps the history of specs, each with
 * its label map (undo/redo): a renamed labelled class keeps its images.
 */
import '../report/report.css';
import './lab.css';
import type { LAB_ROOT_ELEMENT_ID, LabSpec, ScoreResponse, SessionResponse } from '../../server/lab_api.js';
import { append, byId, h } from '../common/dom.js';
import { int } from '../common/format.js';
import { fetchSession, saveRun, scoreSpec, specYaml } from './api.js';
import { renderCellImages, renderConfusion, showImage } from './confusion.js';
import { lab, startState } from './context.js';
import { renderEditor } from './editor.js';
import { renderGroups, renderProbes } from './groups.js';
import { LatestRequest } from './latest.js';
import { labLayout } from './layout.js';
import { renderPrompts } from './prompts.js';
import { renderShares } from './shares.js';
import { renderSummary } from './summary.js';
import { renamedLabelMap, type ClassRename, type LabDraft } from './spec_edit.js';

/** The shell's element (lab_api.ts's LAB_ROOT_ELEMENT_ID; a value import would bundle zod). */
const ROOT_ID: typeof LAB_ROOT_ELEMENT_ID = 'lab';
/** Edits closer together than this are scored once. */
const EDIT_DEBOUNCE_MS = 150;

function notice(message: string | null, kind: 'error' | 'info' = 'error', ...extra: HTMLElement[]): void {
  const el = byId('notice');
  el.hidden = message === null;
  el.className = `notice ${kind}`;
  el.replaceChildren();
  if (message !== null) append(el, [message, ...extra]);
}

function setStatus(state: 'scoring' | 'ready' | 'error', text: string): void {
  document.body.dataset.state = state;
  byId('status').textContent = text;
}

/** No field of the editor holds typed text that is not yet an edit (redrawing would lose it). */
function editorIsClean(): boolean {
  return [...byId('spec-editor').querySelectorAll('input')].every((input) => input.type === 'checkbox' || input.value === input.defaultValue);
}

function drawEditor(): void {
  const state = lab();
  renderEditor(byId('spec-editor'), { spec: state.history.current.spec, resolved: state.scored?.spec ?? null, onEdit: edit });
  byId('download-label-map').hidden = Object.keys(state.history.current.labelMap).length === 0;
  byId<HTMLButtonElement>('undo').disabled = !state.history.canUndo;
  byId<HTMLButtonElement>('redo').disabled = !state.history.canRedo;
}

function selectStrategy(strategy: string): void {
  lab().strategy = strategy;
  drawStrategyViews();
}

function selectAttribute(index: number): void {
  lab().attribute = index;
  renderGroups(selectAttribute);
  renderProbes();
}

function drawStrategyViews(): void {
  const state = lab();
  const select = byId<HTMLSelectElement>('strategy-select');
  const strategies = state.scored?.spec.strategies ?? [];
  select.replaceChildren(...strategies.map((s) => h('option', { value: s }, s)));
  select.value = state.strategy ?? '';
  renderSummary(selectStrategy);
  renderShares(selectStrategy);
  renderConfusion();
  void renderCellImages();
  // The open image's scores, for this score's prompts.
  if (state.image !== null) void showImage(state.image);
  renderGroups(selectAttribute);
  renderProbes();
  renderPrompts();
}

function showScore(answer: ScoreResponse): void {
  const state = lab();
  state.scored = answer;
  if (!state.strategy || !answer.spec.strategies.includes(state.strategy)) state.strategy = answer.spec.strategies[0] ?? null;
  notice(null);
  drawStrategyViews();
  if (editorIsClean()) drawEditor();
  document.body.dataset.specHash = answer.spec_hash;
  const encoded = answer.encoded_prompts ? `, ${answer.encoded_prompts} new ${answer.encoded_prompts === 1 ? 'prompt' : 'prompts'} encoded` : '';
  setStatus('ready', `scored in ${Math.round(answer.timings.total_ms)} ms${encoded}`);
}

const scoring = new LatestRequest<LabDraft, ScoreResponse>({
  delayMs: EDIT_DEBOUNCE_MS,
  send: (draft, signal) => scoreSpec(draft.spec, draft.labelMap, signal),
  onAnswer: showScore,
  onError: (error) => {
    setStatus('error', 'not scored');
    notice(`This spec cannot be scored: ${(error as Error).message} The numbers below are of the last spec that could.`);
  },
  onBusy: (busy) => busy && setStatus('scoring', 'scoring…'),
});

/** The classes the saved run's images are labelled with (the label map's values to rename). */
const savedLabels = (session: SessionResponse): ReadonlySet<string> => new Set(session.images.labels?.filter((label) => label !== null));

function edit(next: LabSpec, renamed?: ClassRename): void {
  const { history, session } = lab();
  const labelMap = renamed ? renamedLabelMap(history.current.labelMap, renamed, savedLabels(session)) : history.current.labelMap;
  const draft: LabDraft = { spec: next, labelMap };
  if (!history.push(draft)) return;
  drawEditor();
  scoring.schedule(draft);
}

function undo(): void {
  const draft = lab().history.undo();
  if (!draft) return;
  drawEditor();
  void scoring.now(draft);
}

function redo(): void {
  const draft = lab().history.redo();
  if (!draft) return;
  drawEditor();
  void scoring.now(draft);
}

function download(text: string, type: string, fileName: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = h('a', { href: url, download: fileName, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function downloadYaml(): Promise<void> {
  try {
    const { text, fileName } = await specYaml(lab().history.current.spec);
    download(text, 'text/yaml', fileName);
  } catch (error) {
    notice(`The spec cannot be saved: ${(error as Error).message}`);
  }
}

/** The label map as JSON, which `zeroshot run --label-map` reads (beside the spec's YAML). */
function downloadLabelMap(): void {
  download(JSON.stringify(lab().history.current.labelMap, null, 2) + '\n', 'application/json', 'label-map.json');
}

async function saveAsRun(): Promise<void> {
  const button = byId<HTMLButtonElement>('save-run');
  button.disabled = true;
  notice('Saving…', 'info');
  try {
    const { spec, labelMap } = lab().history.current;
    const saved = await saveRun(spec, labelMap);
    notice('Saved as run: ', 'info', h('code', { id: 'saved-folder', 'data-folder': saved.folder }, `${lab().session.save_dir}/${saved.folder}`), h('span', null, ` (${saved.files.length} files).`));
  } catch (error) {
    notice(`The run cannot be saved: ${(error as Error).message}`);
  } finally {
    button.disabled = false;
  }
}

/** Ctrl/Cmd-Z undoes and Shift-Ctrl/Cmd-Z (or Ctrl-Y) redoes, except while a text field holds typing of its own to undo. */
function onKey(e: KeyboardEvent): void {
  if (!(e.ctrlKey || e.metaKey) || e.altKey) return;
  const key = e.key.toLowerCase();
  if (key !== 'z' && key !== 'y') return;
  const target = e.target;
  if (target instanceof HTMLInputElement && target.type !== 'checkbox' && target.value !== target.defaultValue) return;
  e.preventDefault();
  if (key === 'y' || e.shiftKey) redo();
  else undo();
}

async function start(): Promise<void> {
  const root = byId(ROOT_ID);
  append(root, labLayout());
  setStatus('scoring', 'loading…');
  let session;
  try {
    session = await fetchSession();
  } catch (error) {
    notice(`The lab cannot start: ${(error as Error).message}`);
    setStatus('error', 'not loaded');
    return;
  }
  startState(session);
  // Beside the YAML download, shown while renames map labels: a spec file holds no label map.
  byId('download-yaml').after(h('button', {
    type: 'button', className: 'action', id: 'download-label-map', hidden: true,
    title: 'Download the label map (saved label → renamed class) for zeroshot run --label-map', 'aria-label': 'Download the label map for zeroshot run --label-map',
  }, 'Download label map'));
  byId('title').textContent = `Prompt lab · ${session.run.spec.name}`;
  const { model } = session.run;
  // A folder model's id is its path: its last part names it well enough here (the whole path on hover).
  const subtitle = byId('subtitle');
  subtitle.textContent = [model.kind === 'folder' ? (model.id.split(/[\\/]/).filter(Boolean).pop() ?? model.id) : model.id, `${int(session.images.count)} images`,
    `saved run ${session.run.finished_at?.slice(0, 16).replace('T', ' ') ?? ''} UTC`].join(' · ');
  subtitle.title = `${model.id} · ${model.dtype}`;
  drawEditor();
  byId('undo').addEventListener('click', undo);
  byId('redo').addEventListener('click', redo);
  byId('download-yaml').addEventListener('click', () => void downloadYaml());
  byId('download-label-map').addEventListener('click', downloadLabelMap);
  byId('save-run').addEventListener('click', () => void saveAsRun());
  byId<HTMLSelectElement>('strategy-select').addEventListener('change', (e) => selectStrategy((e.target as HTMLSelectElement).value));
  byId<HTMLSelectElement>('attribute-select').addEventListener('change', (e) => selectAttribute(Number((e.target as HTMLSelectElement).value)));
  document.addEventListener('keydown', onKey);
  await scoring.now(lab().history.current);
  document.body.dataset.ready = '1';
}

void start();
