import { stringify } from 'csv-stringify/sync';
import type { RunComparison } from '../evaluate/compare/compare_runs.js';
import type { ChangedImage, ComparedValue, ComparisonFile, StrategyComparison } from './result_files.js';

/** comparison.csv's columns: one row per statistic, ready for pandas' pivot. */
export const COMPARISON_CSV_COLUMNS = ['run', 'strategy', 'group', 'metric', 'value', 'low', 'high'] as const;

/** The `group` of statistics over all shared images. */
export const ALL_IMAGES = 'all';

type Row = [string, string, string, string, number | null, number | null, number | null];

function statisticRows(c: StrategyComparison): Row[] {
  const rows: Row[] = [];
  const add = (group: string, metric: string, v: ComparedValue | number | null) => {
    if (v === null || typeof v === 'number') rows.push([c.run, c.strategy, group, metric, v, null, null]);
    else rows.push([c.run, c.strategy, group, metric, v.value, v.ci?.[0] ?? null, v.ci?.[1] ?? null]);
  };
  add(ALL_IMAGES, 'n', c.n);
  add(ALL_IMAGES, 'accuracy', c.accuracy);
  add(ALL_IMAGES, 'accuracy_difference', c.accuracy_difference);
  add(ALL_IMAGES, 'balanced_accuracy', c.balanced_accuracy);
  add(ALL_IMAGES, 'balanced_accuracy_difference', c.balanced_accuracy_difference);
  add(ALL_IMAGES, 'mcnemar_b', c.mcnemar.b);
  add(ALL_IMAGES, 'mcnemar_c', c.mcnemar.c);
  add(ALL_IMAGES, 'mcnemar_p', c.mcnemar.p_value);
  add(ALL_IMAGES, 'mcnemar_mid_p', c.mcnemar.mid_p_value);
  add(ALL_IMAGES, 'agreement', c.agreement);
  add(ALL_IMAGES, 'kappa', c.kappa);
  add(ALL_IMAGES, 'changed_images', c.changed_images);
  if (c.probe_rate) add(ALL_IMAGES, 'probe_rate', c.probe_rate);
  if (c.probe_rate_difference) add(ALL_IMAGES, 'probe_rate_difference', c.probe_rate_difference);
  for (const a of c.attributes) {
    add(a.attribute, 'accuracy_gap', a.accuracy_gap);
    add(a.attribute, 'accuracy_gap_difference', a.accuracy_gap_difference);
    if (a.probe_rate_gap) add(a.attribute, 'probe_rate_gap', a.probe_rate_gap);
    if (a.probe_rate_gap_difference) add(a.attribute, 'probe_rate_gap_difference', a.probe_rate_gap_difference);
    for (const [metric, values] of [
      ['equal_opportunity', a.equal_opportunity],
      ['equal_opportunity_difference', a.equal_opportunity_difference],
      ['demographic_parity', a.demographic_parity],
      ['demographic_parity_difference', a.demographic_parity_difference],
    ] as const) {
      for (const [cls, value] of Object.entries(values)) add(a.attribute, `${metric}:${cls}`, value);
    }
    for (const [name, g] of Object.entries(a.groups)) {
      const group = `${a.attribute}=${name}`;
      add(group, 'n', g.n);
      add(group, 'accuracy', g.accuracy);
      add(group, 'accuracy_difference', g.accuracy_difference);
      if (g.probe_rate) add(group, 'probe_rate', g.probe_rate);
      if (g.probe_rate_difference) add(group, 'probe_rate_difference', g.probe_rate_difference);
    }
  }
  return rows;
}

/** comparison.csv in long form: run, strategy, group (`all`, an attribute, or `attribute=value`), metric, value, low, high. */
export function comparisonCsv(comparison: ComparisonFile): string {
  return stringify([[...COMPARISON_CSV_COLUMNS], ...comparison.comparisons.flatMap(statisticRows)]);
}

/** changed.csv: every image whose predicted class differs from the baseline's. */
export function changedCsv(comparisons: readonly RunComparison[]): string {
  const columns = ['image', 'sha256', 'label', 'baseline', 'predicted'] as const satisfies readonly (keyof ChangedImage)[];
  const rows = comparisons.flatMap((c) => c.changed.map((x) => [c.run, c.strategy, ...columns.map((column) => x[column] ?? '')]));
  return stringify([['run', 'strategy', ...columns], ...rows]);
}

const percent = (x: number | null) => (x === null ? '–' : (100 * x).toFixed(1));
const signedPercent = (x: number | null) => (x === null ? '–' : `${x > 0 ? '+' : x < 0 ? '−' : ''}${Math.abs(100 * x).toFixed(1)}`);
const pValue = (p: number) => (p < 0.001 ? '<0.001' : p.toFixed(3));

/** "71.2 [68.0, 74.1]" in percent; differences signed. */
function withInterval(v: ComparedValue | null, signed = false): string {
  if (!v) return '–';
  const format = signed ? signedPercent : percent;
  return v.ci ? `${format(v.value)} [${format(v.ci[0])}, ${format(v.ci[1])}]` : format(v.value);
}

interface Table {
  readonly caption: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** The tables both the Markdown and the LaTeX output show: one per strategy, and one per strategy and attribute. */
function paperTables(comparison: ComparisonFile): Table[] {
  const level = `${Math.round(100 * comparison.settings.confidence)} %`;
  const intervals = comparison.settings.bootstrap > 0 ? `, [${level} paired bootstrap interval]` : '';
  const strategies = [...new Set(comparison.comparisons.map((c) => c.strategy))];
  const tables: Table[] = [];
  for (const strategy of strategies) {
    const rows = comparison.comparisons.filter((c) => c.strategy === strategy);
    const probes = rows.some((c) => c.probe_rate);
    tables.push({
      caption: `Strategy ${strategy}: each run against ${comparison.baseline} on ${comparison.shared_images} shared images (percent${intervals}; McNemar exact p, mid-p)`,
      header: ['run', 'accuracy', 'Δ accuracy', 'balanced acc.', 'Δ balanced acc.', 'McNemar p (mid-p)', 'agreement', 'κ', ...(probes ? ['probe rate', 'Δ probe rate'] : [])],
      rows: rows.map((c) => [
        c.run,
        withInterval(c.accuracy),
        c.run === comparison.baseline ? 'baseline' : withInterval(c.accuracy_difference, true),
        withInterval(c.balanced_accuracy),
        c.run === comparison.baseline ? 'baseline' : withInterval(c.balanced_accuracy_difference, true),
        c.run === comparison.baseline ? '–' : `${pValue(c.mcnemar.p_value)} (${pValue(c.mcnemar.mid_p_value)})`,
        percent(c.agreement),
        c.kappa === null ? '–' : c.kappa.toFixed(3),
        ...(probes ? [withInterval(c.probe_rate), c.run === comparison.baseline ? 'baseline' : withInterval(c.probe_rate_difference, true)] : []),
      ]),
    });
    const attributes = [...new Set(rows.flatMap((c) => c.attributes.map((a) => a.attribute)))];
    for (const attribute of attributes) {
      const groupNames = [...new Set(rows.flatMap((c) => c.attributes.filter((a) => a.attribute === attribute).flatMap((a) => Object.keys(a.groups))))];
      tables.push({
        caption: `Strategy ${strategy}, ${attribute}: accuracy per group, the gap (max − min over groups of at least ${comparison.settings.min_group_size} images) and its difference to ${comparison.baseline} (percent${intervals})`,
        header: ['run', ...groupNames, 'gap', 'Δ gap'],
        rows: rows.map((c) => {
          const a = c.attributes.find((x) => x.attribute === attribute);
          return [
            c.run,
            ...groupNames.map((g) => withInterval(a?.groups[g]?.accuracy ?? null)),
            withInterval(a?.accuracy_gap ?? null),
            c.run === comparison.baseline ? 'baseline' : withInterval(a?.accuracy_gap_difference ?? null, true),
          ];
        }),
      });
    }
  }
  return tables;
}

function runsList(comparison: ComparisonFile): string[] {
  return comparison.runs.map((r) => `${r.name}: ${r.model} (${r.dtype}), spec ${r.spec}; ${r.shared} shared images, ${r.left_out} left out`);
}

const markdownCell = (text: string) => text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** comparison.md: the runs, then each table as GitHub Markdown. */
export function comparisonMarkdown(comparison: ComparisonFile): string {
  const lines = [
    `# Comparison against ${markdownCell(comparison.baseline)}`,
    '',
    `${comparison.shared_images} images shared by every run (aligned by ${comparison.aligned_by}); intervals: ${comparison.settings.interval}, ${comparison.settings.bootstrap} resamples, seed ${comparison.settings.seed} (${comparison.settings.resampling}).`,
    '',
    ...runsList(comparison).map((line) => `- ${markdownCell(line)}`),
  ];
  for (const table of paperTables(comparison)) {
    lines.push('', `**${markdownCell(table.caption)}**`, '');
    lines.push(`| ${table.header.map(markdownCell).join(' | ')} |`, `| ${table.header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`);
    for (const row of table.rows) lines.push(`| ${row.map(markdownCell).join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}

const LATEX_SPECIALS: Record<string, string> = {
  '\\': '\\textbackslash{}', '&': '\\&', '%': '\\%', $: '\\$', '#': '\\#', _: '\\_', '{': '\\{', '}': '\\}', '~': '\\textasciitilde{}', '^': '\\textasciicircum{}',
};

/** Text safe in LaTeX: specials escaped, and the few Unicode signs the tables use as math. */
export function latexText(text: string): string {
  return text
    .replace(/[\\&%$#_{}~^]/g, (c) => LATEX_SPECIALS[c])
    .replace(/−/g, '$-$')
    .replace(/Δ/g, '$\\Delta$')
    .replace(/κ/g, '$\\kappa$')
    .replace(/–/g, '--');
}

/** comparison.tex: one booktabs table per table (needs \usepackage{booktabs}). */
export function comparisonLatex(comparison: ComparisonFile): string {
  const blocks = paperTables(comparison).map((table) => [
    '\\begin{table}[ht]',
    '\\centering',
    `\\caption{${latexText(table.caption)}}`,
    `\\begin{tabular}{l${'r'.repeat(table.header.length - 1)}}`,
    '\\toprule',
    `${table.header.map(latexText).join(' & ')} \\\\`,
    '\\midrule',
    ...table.rows.map((row) => `${row.map(latexText).join(' & ')} \\\\`),
    '\\bottomrule',
    '\\end{tabular}',
    '\\end{table}',
  ].join('\n'));
  return [`% zeroshot compare: ${comparison.shared_images} shared images; needs \\usepackage{booktabs}`, ...blocks].join('\n\n') + '\n';
}
