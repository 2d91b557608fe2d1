/** report.html's script: draws every section from the JSON in #report-data (it computes no metric, it formats them). */
import './report.css';
import { byId } from '../common/dom.js';
import { renderStrategyViews, selectAttribute, selectStrategy } from './actions.js';
import { state } from './context.js';
import { renderPrompts } from './prompts.js';
import { renderRanking } from './ranking.js';
import { renderHeader, renderSummary } from './summary.js';

const strategySelect = byId<HTMLSelectElement>('strategy-select');
strategySelect.addEventListener('change', () => selectStrategy(strategySelect.value));
byId<HTMLSelectElement>('attribute-select').addEventListener('change', (e) => selectAttribute(Number((e.target as HTMLSelectElement).value)));
byId<HTMLSelectElement>('ranking-attribute-select').addEventListener('change', (e) => {
  state.rankingAttribute = Number((e.target as HTMLSelectElement).value);
  renderRanking();
});

renderHeader();
renderSummary();
renderStrategyViews();
renderPrompts();
renderRanking();
document.body.dataset.ready = '1';
