// The lab's spec as data (LabSpec) and the spec file `zeroshot run --spec` reads: one goes to the other through
// YAML and the spec parser, so the lab accepts exactly what a spec file may say, with the same errors.
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { parseSpec, promptCounts, SpecError, type Spec } from '../input/spec.js';
import { defaultStrategies, parseStrategy, strategyName, type Strategy } from '../score/strategies.js';
import type { LabSpec } from '../server/lab_api.js';

/** How the lab's spec is named in error messages and run.json's `spec.source`. */
export const LAB_SPEC_SOURCE = 'lab';

/** A spec of the lab, resolved: the Spec the pipeline scores, its strategies, and the hash naming both. */
export interface ResolvedLabSpec {
  readonly spec: Spec;
  readonly strategies: readonly Strategy[];
  /** The strategies were given (else: the spec's defaults, as `run` without --strategies). */
  readonly explicitStrategies: boolean;
  /** 16 hex digits of SHA-256 over the classes, prompts, probes and strategies (not the name). */
  readonly hash: string;
  /** The spec file's text. */
  readonly yaml: string;
}

/** Refuses text that would name a file where the lab takes none (the spec's name becomes a folder name). */
function checkNotPathLike(value: string, what: string): void {
  if (/[/\\\0]/.test(value) || value === '.' || value === '..') {
    throw new SpecError(`${what} '${value}' looks like a file path; the lab takes no paths: give a plain name (no '/', '\\' or '..')`);
  }
}

/** The spec file of a LabSpec: YAML in the explicit form (class: prompts) or the templated one (templates + names). */
export function labSpecYaml(lab: LabSpec): string {
  const templated = lab.templates !== undefined;
  const classes = new Map<string, unknown>();
  for (const c of lab.classes) {
    if (classes.has(c.name)) throw new SpecError(`${LAB_SPEC_SOURCE}: class '${c.name}' is listed twice; list each class once (merge their prompts)`);
    if (templated) {
      if (c.prompts) throw new SpecError(`${LAB_SPEC_SOURCE}: class '${c.name}' has prompts, but the spec has templates; give it names for the templates instead`);
      classes.set(c.name, { name: c.names ?? [c.name], ...(c.article ? { article: c.article } : {}), ...(c.probe ? { probe: true } : {}) });
    } else {
      if (c.names || c.article) throw new SpecError(`${LAB_SPEC_SOURCE}: class '${c.name}' has names for templates, but the spec has none; give it prompts`);
      classes.set(c.name, c.probe ? { prompts: c.prompts ?? [], probe: true } : (c.prompts ?? []));
    }
  }
  const document = new Map<string, unknown>([['name', lab.name]]);
  if (lab.description !== undefined) document.set('description', lab.description);
  if (templated) document.set('templates', lab.templates);
  document.set('classes', classes);
  const strategies = lab.strategies?.length ? `# strategies: zeroshot run --strategies ${lab.strategies.join(',')}\n` : '';
  return strategies + stringify(document, { lineWidth: 0 });
}

/** Validates a LabSpec as the CLI validates a spec file and --strategies; throws SpecError naming the entry. */
export function resolveLabSpec(lab: LabSpec): ResolvedLabSpec {
  checkNotPathLike(lab.name, 'spec name');
  const yaml = labSpecYaml(lab);
  const spec = { ...parseSpec(yaml, LAB_SPEC_SOURCE), source: LAB_SPEC_SOURCE };
  const explicitStrategies = !!lab.strategies?.length;
  let strategies: Strategy[];
  try {
    strategies = explicitStrategies ? lab.strategies!.map(parseStrategy) : defaultStrategies(promptCounts(spec));
  } catch (error) {
    throw new SpecError(`${LAB_SPEC_SOURCE}: strategies: ${(error as Error).message}`);
  }
  const names = strategies.map(strategyName);
  if (new Set(names).size !== names.length) throw new SpecError(`${LAB_SPEC_SOURCE}: strategies: each strategy once, please (${names.join(', ')})`);
  const hash = createHash('sha256')
    .update(JSON.stringify({ classes: spec.classes.map((c) => [c.name, c.prompts, c.probe]), strategies: names }))
    .digest('hex')
    .slice(0, 16);
  return { spec, strategies, explicitStrategies, hash, yaml };
}

/**
 * A saved run's spec and strategies as a LabSpec (explicit form: run.json keeps the prompts, not the templates);
 * the strategies only when they are not the spec's defaults, so that edits keep following the defaults as `run` does.
 */
export function labSpecOfRun(run: { readonly spec: { readonly name: string; readonly classes: readonly { readonly name: string; readonly prompts: readonly string[]; readonly probe: boolean }[] }; readonly strategies: readonly string[] }): LabSpec {
  const classes = run.spec.classes.map((c) => ({ name: c.name, prompts: [...c.prompts], ...(c.probe ? { probe: true } : {}) }));
  const defaults = defaultStrategies(Int32Array.from(run.spec.classes, (c) => c.prompts.length)).map(strategyName);
  const isDefault = defaults.length === run.strategies.length && defaults.every((name, k) => name === run.strategies[k]);
  return { name: run.spec.name, classes, ...(isDefault ? {} : { strategies: [...run.strategies] }) };
}
