/**
 * The prompt lab's JSON API (`zeroshot serve`): request schemas (zod, validated by the server) and the TypeScript
 * types of every request and response body. Browser code imports the types only (`import type`), so zod stays out
 * of the page's bundle. Result objects are the result-file types `zeroshot run` writes (MetricsFile, RunFile), not
 * copies.
 *
 * Endpoints (every one needs the token: the `zeroshot_lab` cookie set by the first `GET /?token=T`, or
 * `Authorization: Bearer T`, or `X-Zeroshot-Token: T`; a Host header other than the bound address, localhost or
 * 127.0.0.1 with the port is refused 403; errors are ErrorResponse):
 *
 *   GET  /                              the lab page (HTML shell; its script at /assets/lab.js). `?token=T` sets the
 *                                       cookie (HttpOnly, SameSite=Strict) and redirects to `/` (token out of the URL)
 *   GET  /assets/lab.js, /assets/lab.css  the bundled page (dist/web/lab.js and .css, from src/web/lab/main.ts)
 *   GET  /assets/echarts.js             ECharts' minified build (the page's charts; no network beyond this origin)
 *                                       The shell: <div id="lab"> (LAB_ROOT_ELEMENT_ID), then echarts.js, then lab.js.
 *                                       Every response carries LAB_CONTENT_SECURITY_POLICY.
 *   GET  /api/session                   → SessionResponse: the saved run, its spec as LabSpec, metrics as written, images
 *   POST /api/score        ScoreRequest → ScoreResponse: metrics.json's objects for that spec, and the changes from the saved run
 *   GET  /api/images/:index/thumbnail   → image/jpeg (THUMBNAIL_SIZE px square), by image index of the session
 *   GET  /api/images/:index/scores?spec=<spec_hash>
 *                                       → ImageScoresResponse: every prompt's score of one image for a scored spec
 *   POST /api/cell         CellRequest  → CellResponse: the image indexes of one confusion cell of a scored spec
 *   POST /api/spec.yaml    SpecRequest  → text/yaml (Content-Disposition: attachment): the spec file `zeroshot run --spec` reads
 *   POST /api/save-run     SpecRequest  → SaveRunResponse: a new results folder under the server's --save-dir, equal to
 *                                       `zeroshot run --spec <that YAML> --label-map <its label-map.yaml> --unmatched-labels skip`
 *                                       (see README, "Prompt lab")
 *
 * The server is stateless per request apart from caches: the client keeps the history of specs (undo/redo) and
 * re-posts the spec; a `spec_hash` (of the resolved spec and strategies) names a scored spec for the image and
 * cell endpoints while the server still holds it (the last SCORED_SPECS_KEPT specs; else 404: score it again).
 * No endpoint takes a file path: a name, prompt or strategy that looks like one is refused 400.
 */
import { z } from 'zod';
import type { StrategyShares } from '../evaluate/prediction_shares.js';
import type { MetricsFile, RunFile } from '../report/result_files.js';

/** Request bodies larger than this are refused 413. */
export const BODY_LIMIT_BYTES = 1 << 20;
/** Side of the thumbnails, px. */
export const THUMBNAIL_SIZE = 128;
/** Scored specs the server keeps for /api/images/…/scores and /api/cell. */
export const SCORED_SPECS_KEPT = 16;
/** The cookie that carries the token after the first load. */
export const TOKEN_COOKIE = 'zeroshot_lab';
/** The header a script may send the token in (or `Authorization: Bearer`). */
export const TOKEN_HEADER = 'x-zeroshot-token';
/** The element of the lab page's shell the script renders into. */
export const LAB_ROOT_ELEMENT_ID = 'lab';
/** Scripts, styles, images and requests from the lab's own origin only (inline styles allowed: ECharts sets them). */
export const LAB_CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const text = z.string().min(1).max(2000);

/**
 * One class of a LabSpec. Explicit form: `prompts`. Templated form (LabSpec.templates given): `names`, the
 * class name(s) put into every template (default: the class name), and `article` for {article}.
 */
export const labClassSchema = z.strictObject({
  name: text,
  prompts: z.array(text).max(100_000).optional(),
  names: z.array(text).max(1000).optional(),
  article: z.enum(['a', 'an']).optional(),
  probe: z.boolean().optional(),
});
export type LabClass = z.infer<typeof labClassSchema>;

/**
 * A spec as data: the spec file's two forms (see specs/*.yaml) with the classes as an ordered list. It becomes
 * the YAML of /api/spec.yaml and is read by the same parser as a spec file, so its errors are the CLI's.
 * `strategies`: as `--strategies` (default: every strategy, as `zeroshot run` without the flag).
 */
export const labSpecSchema = z.strictObject({
  name: text.max(200),
  description: z.string().max(10_000).optional(),
  templates: z.array(text).max(1000).optional(),
  classes: z.array(labClassSchema).min(1).max(100_000),
  strategies: z.array(z.string().min(1).max(40)).max(20).optional(),
});
export type LabSpec = z.infer<typeof labSpecSchema>;

/**
 * Saved label value (the saved run's class of an image, predictions.csv's `label`) → class name of the spec, as
 * `zeroshot run --label-map`: a renamed class keeps its images. Values naming no class of the spec after it are
 * left out of the metrics (as `--unmatched-labels skip`).
 */
export const labelMapSchema = z.record(text, text);
export type LabLabelMap = z.infer<typeof labelMapSchema>;

/** `label_map`: for save-as-run (its folder's label-map.yaml); a spec file holds none, so /api/spec.yaml ignores it. */
export const specRequestSchema = z.strictObject({ spec: labSpecSchema, label_map: labelMapSchema.optional() });
/** POST /api/spec.yaml and POST /api/save-run. */
export type SpecRequest = z.infer<typeof specRequestSchema>;

export const scoreRequestSchema = z.strictObject({
  spec: labSpecSchema,
  /** Bootstrap resamples of the intervals (default: the saved run's; 0: none, faster). */
  bootstrap: z.number().int().min(0).max(10_000).optional(),
  label_map: labelMapSchema.optional(),
});
/** POST /api/score. */
export type ScoreRequest = z.infer<typeof scoreRequestSchema>;

const specHash = z.string().regex(/^[0-9a-f]{16}$/, 'a spec_hash from /api/score (16 hex digits)');

export const cellRequestSchema = z.strictObject({
  spec_hash: specHash,
  strategy: z.string().min(1).max(40),
  /** True class index (−1: images without a label). */
  truth: z.number().int().min(-1),
  /** Predicted class index. */
  predicted: z.number().int().min(0),
});
/** POST /api/cell. */
export type CellRequest = z.infer<typeof cellRequestSchema>;

export const imageScoresQuerySchema = z.strictObject({ spec: specHash });
/** GET /api/images/:index/scores?spec=… */
export type ImageScoresQuery = z.infer<typeof imageScoresQuerySchema>;

export const imageIndexParamsSchema = z.strictObject({ index: z.coerce.number().int().min(0) });

/** Every error: a sentence naming the entry and the fix; `issues` for a body that does not match its schema. */
export interface ErrorResponse {
  readonly error: string;
  readonly issues?: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[];
}

/** The images of the session, as columns (row i is image index i; thumbnails and scores are by that index). */
export interface SessionImages {
  readonly count: number;
  /** Paths relative to the images folder (predictions.csv's `image`). */
  readonly keys: readonly string[];
  /** True class name per image (null: no label); null for a run without labels. */
  readonly labels: readonly (string | null)[] | null;
  /** Group column (run.json's group_columns) → value per image (null when unknown). */
  readonly groups: Record<string, readonly (string | null)[]>;
}

/** GET /api/session. */
export interface SessionResponse {
  /** The saved run's run.json (without its file list). */
  readonly run: Omit<RunFile, 'files' | 'failed_outputs'>;
  /** The saved run's spec and strategies as a LabSpec: the page's starting point. */
  readonly spec: LabSpec;
  /** The saved run's metrics.json as written; null without labels. */
  readonly metrics: MetricsFile | null;
  /** The spec_hash of the saved spec (its scores are ready at once). */
  readonly spec_hash: string;
  readonly images: SessionImages;
  /** Audit settings every score uses unless a request overrides bootstrap. */
  readonly settings: { readonly bootstrap: number; readonly seed: number; readonly min_group_size: number; readonly intersections: boolean };
  /** Folder name (not path) under which save-as-run writes, for the page to say where. */
  readonly save_dir: string;
}

/** Which change a LabChange measures; `attribute`/`group` say where. */
export type LabChangeMetric =
  | 'accuracy'
  | 'balanced_accuracy'
  | 'group_accuracy'
  | 'accuracy_gap'
  | 'accuracy_ratio'
  | 'any_probe_rate'
  | 'group_any_probe_rate'
  | 'any_probe_rate_spread';

/**
 * One number of the new scores against the saved run's. `outside_interval`: the saved value lies outside the new
 * value's 95% bootstrap interval (null when either is missing, e.g. bootstrap 0).
 */
export interface LabChange {
  readonly strategy: string;
  readonly metric: LabChangeMetric;
  /** Group attribute (e.g. `gender`, `race × gender`); null for whole-population metrics. */
  readonly attribute: string | null;
  /** Group name; null for whole-population metrics and gaps. */
  readonly group: string | null;
  readonly value: number | null;
  readonly ci: readonly [number, number] | null;
  /** The saved run's value; null when the saved run has no such number (a new strategy, class or group). */
  readonly saved: number | null;
  /** value − saved; null when either is null. */
  readonly difference: number | null;
  readonly outside_interval: boolean | null;
}

/** The resolved spec of a score: what the columns of image scores are. */
export interface ScoredSpec {
  readonly name: string;
  readonly classes: readonly string[];
  readonly probe: readonly boolean[];
  /** Every prompt, class by class: the columns of ImageScoresResponse.scores. */
  readonly prompts: readonly string[];
  /** Class index of each prompt. */
  readonly prompt_class: readonly number[];
  readonly strategies: readonly string[];
}

/**
 * Labelled images the metrics leave out: their label (after the label map) names no class of the spec, or the
 * saved run itself left them out (its run.json's unmatched_labels), so the lab does not know their labels.
 */
export interface LeftOutImages {
  readonly images: number;
  /** Label value → images: saved label values of this spec's, then the saved run's own left-out CSV values. */
  readonly values: Record<string, number>;
}

/** POST /api/score. */
export interface ScoreResponse {
  /** Names the scored spec with its label map (the same spec under another map has another hash). */
  readonly spec_hash: string;
  readonly spec: ScoredSpec;
  /** What metrics.json of `zeroshot run` with this spec holds; null for a run without labels. */
  readonly metrics: MetricsFile | null;
  /** Strategy → images per (truth, predicted) cell: [truth index (−1: unlabelled), predicted index, count], non-zero only. */
  readonly cells: Record<string, readonly (readonly [number, number, number])[]>;
  /** Labelled images left out of the metrics and why; null for a run without labels. */
  readonly left_out: LeftOutImages | null;
  readonly changes: readonly LabChange[];
  /** Strategy → images predicted as each class, overall and per group value, against the saved run (with or without labels). */
  readonly shares: Record<string, StrategyShares>;
  /** Prompts this score sent through the text tower (the others came from memory or the cache). */
  readonly encoded_prompts: number;
  /** Milliseconds: texts (memory, cache or tower), scoring and evaluation (metrics, audit), total. */
  readonly timings: { readonly texts_ms: number; readonly score_ms: number; readonly total_ms: number };
}

/** GET /api/images/:index/scores. */
export interface ImageScoresResponse {
  readonly index: number;
  readonly key: string;
  readonly spec_hash: string;
  /** 100·cos per prompt of the spec, in ScoredSpec.prompts order. */
  readonly scores: readonly number[];
  /** Strategy → predicted class index. */
  readonly predicted: Record<string, number>;
}

/** POST /api/cell. */
export interface CellResponse {
  readonly spec_hash: string;
  readonly strategy: string;
  readonly truth: number;
  readonly predicted: number;
  /** Image indexes in the cell, in image order. */
  readonly images: readonly number[];
}

/** POST /api/save-run. */
export interface SaveRunResponse {
  /** The new folder's name inside the save folder (SessionResponse.save_dir). */
  readonly folder: string;
  /** File names written. */
  readonly files: readonly string[];
}
