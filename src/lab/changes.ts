// The numbers of a lab score against the saved run's: each with its interval, the difference, and whether the
// saved value lies outside the new interval. Pure: two metrics.json objects in, a flat list out.
import type { WrittenAttributeAudit } from '../evaluate/audit.js';
import type { MetricsFile } from '../report/result_files.js';
import type { LabChange, LabChangeMetric } from '../server/lab_api.js';

type Interval = readonly [number, number] | null;

function change(strategy: string, metric: LabChangeMetric, attribute: string | null, group: string | null, value: number | null, ci: Interval, saved: number | null): LabChange {
  const difference = value === null || saved === null ? null : value - saved;
  const outside = ci === null || saved === null ? null : saved < ci[0] || saved > ci[1];
  return { strategy, metric, attribute, group, value, ci, saved, difference, outside_interval: outside };
}

/** The saved attribute audit of the same name, for a strategy. */
function savedAttribute(saved: MetricsFile | null, strategy: string, attribute: string): WrittenAttributeAudit | undefined {
  return saved?.groups?.strategies[strategy]?.attributes.find((a) => a.attribute === attribute);
}

/** Own properties only: group and class names are user text (`__proto__`, `constructor`). */
const own = <T>(record: Record<string, T> | undefined, key: string): T | undefined =>
  record && Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;

/**
 * Per strategy of `scored`: accuracy and balanced accuracy, then per audited attribute each group's accuracy, the
 * accuracy gap and ratio, and the harm-probe rates (overall, per group, their spread), each against `saved`.
 */
export function changesFromSaved(scored: MetricsFile | null, saved: MetricsFile | null): LabChange[] {
  if (!scored) return [];
  const changes: LabChange[] = [];
  for (const [strategy, metrics] of Object.entries(scored.strategies)) {
    const savedMetrics = own(saved?.strategies, strategy);
    const row = scored.groups?.comparison.find((r) => r.strategy === strategy);
    changes.push(change(strategy, 'accuracy', null, null, metrics.accuracy, row?.accuracy_ci ?? null, savedMetrics?.accuracy ?? null));
    changes.push(change(strategy, 'balanced_accuracy', null, null, metrics.balanced_accuracy, row?.balanced_accuracy_ci ?? null, savedMetrics?.balanced_accuracy ?? null));
    const audit = own(scored.groups?.strategies, strategy);
    if (!audit) continue;
    const savedAudit = own(saved?.groups?.strategies, strategy);
    if (audit.probes_overall) {
      changes.push(change(strategy, 'any_probe_rate', null, null, audit.probes_overall.any_probe.rate, audit.probes_overall.any_probe.rate_ci, savedAudit?.probes_overall?.any_probe.rate ?? null));
    }
    for (const attribute of audit.attributes) {
      const before = savedAttribute(saved, strategy, attribute.attribute);
      for (const [group, metrics] of Object.entries(attribute.groups)) {
        changes.push(change(strategy, 'group_accuracy', attribute.attribute, group, metrics.accuracy, metrics.accuracy_ci, own(before?.groups, group)?.accuracy ?? null));
      }
      const { gaps } = attribute;
      changes.push(change(strategy, 'accuracy_gap', attribute.attribute, null, gaps.accuracy_gap, gaps.accuracy_gap_ci, before?.gaps.accuracy_gap ?? null));
      changes.push(change(strategy, 'accuracy_ratio', attribute.attribute, null, gaps.accuracy_ratio, gaps.accuracy_ratio_ci, before?.gaps.accuracy_ratio ?? null));
      if (!attribute.probes) continue;
      for (const [group, rates] of Object.entries(attribute.probes.groups)) {
        changes.push(change(strategy, 'group_any_probe_rate', attribute.attribute, group, rates.any_probe.rate, rates.any_probe.rate_ci, own(before?.probes?.groups, group)?.any_probe.rate ?? null));
      }
      changes.push(change(strategy, 'any_probe_rate_spread', attribute.attribute, null, attribute.probes.any_probe_rate_spread, attribute.probes.any_probe_rate_spread_ci, before?.probes?.any_probe_rate_spread ?? null));
    }
  }
  return changes;
}
