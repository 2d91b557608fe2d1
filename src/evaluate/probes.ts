import type { Interval } from './bootstrap.js';
import { blockPredictionRate, comparedGroups, estimateAcrossGroups, estimateForGroup, spread, type OutcomeTallies, type Partition } from './groups.js';

/** How often one group's images are assigned to a probe class. */
export interface ProbeRate {
  readonly count: number;
  readonly rate: number;
  readonly rate_ci: Interval | null;
}

export interface ProbeGroupRates {
  readonly n: number;
  /** Images assigned to any probe class. */
  readonly any_probe: ProbeRate;
  readonly per_probe: Record<string, ProbeRate>;
  readonly too_small: boolean;
}

export interface ProbeAudit {
  readonly probe_classes: readonly string[];
  readonly groups: Record<string, ProbeGroupRates>;
  /** Max − min any-probe rate over the groups with at least minGroupSize images. */
  readonly any_probe_rate_spread: number | null;
  readonly any_probe_rate_spread_ci: Interval | null;
}

/**
 * Harm-probe rates per group: the share of a group's images (labelled or not) that the strategy assigns
 * to probe classes such as "animal" or "criminal". Truth labels are never probe classes, so every such
 * assignment is an error. Null when the spec has no probe class.
 */
export function auditProbes(partition: Partition, tallies: OutcomeTallies, classes: readonly string[], probe: readonly boolean[], minGroupSize: number): ProbeAudit | null {
  const C = classes.length;
  const probeClasses = classes.flatMap((_, c) => (probe[c] ? [c] : []));
  if (probeClasses.length === 0) return null;
  const rateOf = (g: number, targets: readonly number[]): ProbeRate => {
    const { value, ci } = estimateForGroup(tallies, g, (counts, offset) => blockPredictionRate(counts, offset, C, targets));
    let count = 0;
    for (const c of targets) count += tallies.observed[g * tallies.stride + c];
    // Groups are never empty, so the rate is always defined.
    return { count, rate: value ?? 0, rate_ci: ci };
  };
  // Keyed by group value and class name (user text): fromEntries, so `__proto__` is a key like any other.
  const groups: Record<string, ProbeGroupRates> = Object.fromEntries(partition.groups.map((group, g) => {
    const perProbe: Record<string, ProbeRate> = Object.fromEntries(probeClasses.map((c) => [classes[c], rateOf(g, [c])]));
    return [group.name, { n: group.members.length, any_probe: rateOf(g, probeClasses), per_probe: perProbe, too_small: group.members.length < minGroupSize }];
  }));
  const compared = comparedGroups(partition, minGroupSize);
  const anyProbeSpread = estimateAcrossGroups(tallies, compared, (counts, offset) => blockPredictionRate(counts, offset, C, probeClasses), spread);
  return {
    probe_classes: probeClasses.map((c) => classes[c]),
    groups,
    any_probe_rate_spread: anyProbeSpread.value,
    any_probe_rate_spread_ci: anyProbeSpread.ci,
  };
}
