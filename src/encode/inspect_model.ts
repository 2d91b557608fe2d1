/**
 * What a run would do with a model, without encoding anything: `zeroshot inspect`. Reads the JSON files and the
 * headers of whichever ONNX graphs are on disk (never downloads a graph for this).
 */
import { existsSync } from 'node:fs';
import type { ClipPreprocessOptions } from './image/clip_image_transform.js';
import { outputSize } from './image/clip_image_transform.js';
import type { GraphPlan } from './families/family.js';
import { ClipModel, DTYPE_SUFFIX, dtypeSuffix, type ModelOptions, type ModelSource } from './model.js';
import { localModelFile, localOnnxFiles } from './model_files.js';
import { readOnnxGraphInfo } from './onnx_file.js';

export interface GraphInspection {
  readonly role: 'text' | 'vision' | 'combined';
  readonly file: string;
  /** Whether the file is on disk (a folder model, or already in the cache). */
  readonly present: boolean;
  readonly inputs?: readonly string[];
  readonly outputs?: readonly string[];
  /** The output holding the embedding (towers only). */
  readonly embeddingOutput?: string;
  /** The tower is extracted from the combined graph `file` (Chinese-CLIP, jina-clip v2). */
  readonly extracted?: boolean;
}

export interface ModelInspection {
  readonly model: ModelSource;
  readonly family: string;
  readonly variant: string;
  /** ONNX files on disk under onnx/. */
  readonly onnxFiles: readonly string[];
  /** dtypes whose text and vision graphs are both on disk. */
  readonly dtypes: readonly string[];
  readonly graphs: readonly GraphInspection[];
  readonly tokenizer: { readonly kind: string; readonly rules: string; readonly padding: { readonly to: 'longest' | number; readonly padId: number }; readonly maxLength: number };
  readonly preprocessing: ClipPreprocessOptions & { readonly output: { readonly height: number; readonly width: number } };
  readonly scoring: { readonly kind: string; readonly logitScale?: number; readonly logitBias?: number; readonly source?: string };
  readonly warnings: readonly string[];
}

export async function inspectModel(options: ModelOptions): Promise<ModelInspection> {
  const model = await ClipModel.load(options);
  const { source, hub, resolved } = model.description;
  const onnxFiles = await localOnnxFiles(source, hub);
  const towerFile = (plan: GraphPlan) => (plan.fromCombined ? 'model' : plan.file);
  const dtypes = Object.keys(DTYPE_SUFFIX).filter((dtype) =>
    [resolved.text, resolved.vision].every((plan) => onnxFiles.includes(`${towerFile(plan)}${DTYPE_SUFFIX[dtype]}.onnx`)),
  );
  const graph = (role: GraphInspection['role'], file: string, embeddingOutput?: string, extracted?: boolean): GraphInspection => {
    const relative = `onnx/${file}${dtypeSuffix(source.dtype)}.onnx`;
    const path = localModelFile(source, hub, relative);
    if (!existsSync(path)) return { role, file: relative, present: false, embeddingOutput, extracted };
    const { inputs, outputs } = readOnnxGraphInfo(path);
    return { role, file: relative, present: true, inputs, outputs, embeddingOutput, extracted };
  };
  const tower = (role: 'text' | 'vision', plan: GraphPlan) => graph(role, towerFile(plan), plan.embeddingOutput, plan.fromCombined);
  const graphs = [tower('text', resolved.text), tower('vision', resolved.vision)];
  if (!resolved.text.fromCombined) graphs.push(graph('combined', 'model'));
  const warnings = [...resolved.warnings];
  for (const g of graphs) {
    if (g.present && g.embeddingOutput && !g.outputs!.includes(g.embeddingOutput)) warnings.push(`${g.file} has no output '${g.embeddingOutput}': a run will fail`);
  }
  if (!dtypes.includes(source.dtype) && source.kind === 'folder') warnings.push(`no ${source.dtype} graphs in the folder; dtypes present: ${dtypes.join(', ') || 'none'}`);
  const { tokenizer } = resolved;
  const scoring = model.scoringValues();
  if (scoring.missing) warnings.push(scoring.missing);
  return {
    model: source,
    family: resolved.family,
    variant: resolved.variant,
    onnxFiles,
    dtypes,
    graphs,
    tokenizer: { kind: tokenizer.kind, rules: tokenizer.rules, padding: tokenizer.padding, maxLength: tokenizer.maxLength },
    preprocessing: { ...resolved.preprocess, output: outputSize(resolved.preprocess) },
    scoring,
    warnings,
  };
}

/** The inspection as the terminal shows it. */
export function formatInspection(inspection: ModelInspection): string {
  const { model, tokenizer, preprocessing: p, scoring } = inspection;
  const size = 'shortestEdge' in p.size ? `shortest edge ${p.size.shortestEdge}` : `${p.size.height}×${p.size.width} (squash)`;
  const lines = [
    `model       ${model.id}${model.kind === 'folder' && model.path !== model.id ? ` (${model.path})` : ''}, revision ${model.revision}, dtype ${model.dtype}`,
    `family      ${inspection.family}: ${inspection.variant}`,
    `files       ${inspection.onnxFiles.length ? inspection.onnxFiles.map((f) => `onnx/${f}`).join(', ') : 'no ONNX file on disk yet (a run downloads what it needs)'}`,
    `dtypes      ${inspection.dtypes.join(', ') || '(none on disk)'}`,
    ...inspection.graphs.map((g) =>
      g.present
        ? `graph       ${g.role}: ${g.file}  inputs ${g.inputs!.join(', ')}  →  outputs ${g.outputs!.join(', ')}${g.embeddingOutput ? `  (embedding: ${g.embeddingOutput}${g.extracted ? ', tower extracted from this combined graph' : ''})` : ''}`
        : `graph       ${g.role}: ${g.file}  not on disk${g.embeddingOutput ? `  (embedding: ${g.embeddingOutput})` : ''}`,
    ),
    `tokenizer   ${tokenizer.kind}; padding ${tokenizer.padding.to === 'longest' ? 'to the longest prompt of a batch' : `to exactly ${tokenizer.padding.to}`} with id ${tokenizer.padding.padId}; at most ${tokenizer.maxLength} tokens`,
    `            ${tokenizer.rules}`,
    `preprocess  ${p.doResize ? `resize ${size}, resample ${p.resample}` : 'no resize'}${p.doCenterCrop ? `, centre crop ${p.crop.height}×${p.crop.width}` : ''} → ${p.output.height}×${p.output.width}; ` +
      `${p.doRescale ? '/255' : 'no rescale'}${p.doNormalize ? `, mean ${p.imageMean.join('/')}, std ${p.imageStd.join('/')}` : ', no normalisation'}; reference ${p.reference}`,
    `scoring     ${scoring.kind}${scoring.logitScale !== undefined ? ` with logit_scale ${scoring.logitScale}${scoring.logitBias !== undefined ? `, logit_bias ${scoring.logitBias}` : ''} (from ${scoring.source})` : ' (learned values unknown)'}`,
    ...inspection.warnings.map((w) => `warning     ${w}`),
  ];
  return lines.join('\n');
}
