// The library API: each stage of the pipeline is usable on its own.
export { runZeroShot, NoImageReadError, VERSION, type RunOptions, type RunResult, type RunHooks, type RunProgress, type ImageFailure, type UnmatchedLabels } from './pipeline.js';
export { loadSpec, parseSpec, builtInSpecNames, checkPromptsAfterTruncation, duplicateAfterTruncation, SpecError, type Spec, type SpecClass } from './input/spec.js';
export { listImages, imageSource, IMAGE_EXTENSIONS, type ImageEntry, type ImageListing, type SkippedEntry } from './input/images.js';
export { listImageSource, expandImagesSpec, resolveTarMembers, type ImagesInput, type ImagesInputKind, type SourceListing, type ImageSourceOptions } from './input/image_sources.js';
export { readFileRange, type FileRange, type ImageBytesSource } from './input/file_range.js';
export { matchLabelFile, attachedLabelMatch, labelIndices, readLabelMap, labelMapYaml, type AttachedLabels, type LabelMatch, type LabelOptions, type DuplicateLabelPolicy, type UnmatchedLabelPolicy } from './input/labels.js';
export { ClipModel, DEFAULT_MODEL, defaultModelCacheDir, describeModel, type ModelOptions, type ModelSource, type ScoringValues } from './encode/model.js';
export { MODEL_FAMILIES, familyOf } from './encode/families/registry.js';
export type { ModelFamily, ResolvedFamily, TextTokenizer } from './encode/families/family.js';
export { inspectModel, formatInspection, type ModelInspection } from './encode/inspect_model.js';
export { probabilities, probabilityFormula, type ProbabilityScoring } from './score/probabilities.js';
export { createImagePreprocessor, type ImagePreprocessor } from './encode/image/preprocess.js';
export { cosineScores, l2NormalizeRows, scoreMatrix, type ScoreMatrix } from './score/similarity.js';
export {
  argmaxRows,
  classScores,
  classScoresFromPrompts,
  classScoresFromEmbeddings,
  classEmbeddingMeans,
  defaultStrategies,
  parseStrategy,
  predictAll,
  strategyName,
  strategyOfName,
  strategyHelp,
  STRATEGY_REGISTRY,
  type Strategy,
  type StrategyDefinition,
} from './score/strategies.js';
export {
  classificationMetrics,
  confusionMatrix,
  confusionCells,
  denseConfusion,
  writtenMetrics,
  topFiveAccuracy,
  type ClassificationMetrics,
  type ClassMetrics,
  type WrittenClassificationMetrics,
  type ConfusedPair,
} from './evaluate/classification.js';
// Large label sets: scoring in blocks of images, the similarity kernels, streamed similarity outputs, label sets.
export { scoreInChunks, similarityBlocks, probabilityBlocks, topClassesOfRows, kernelFor, type ChunkedScores, type ChunkedScoringOptions, type SimilaritySource } from './score/chunked.js';
export { loopKernel, onnxKernel, type SimilarityKernel, type SimilarityProduct } from './score/similarity_kernel.js';
export { similarityOutputs, writeScoresJson, writeScoresNpy, writeScoresParquet, parseSimilarityFormat, largeOutputNotice, SIMILARITY_FORMATS, type SimilarityFormat } from './report/similarity_outputs.js';
export { readNpyFloat32 } from './encode/cache/npy.js';
export { builtInLabelSets, type LabelSetKind } from './input/label_sets.js';
export { writeResults, resultOutputs, summaryTable, RESULT_FILES, type WriteResultsOptions } from './report/results.js';
export {
  checkResultsFolder,
  contentOutput,
  writeResultsFolder,
  recoverInterruptedWrites,
  updateRecordedFile,
  ResultsWriteError,
  type ResultOutput,
  type WrittenFile,
  type FailedOutput,
} from './report/results_folder.js';
// The embedding cache's administration (`zeroshot cache stats | check | prune | export`) on an SQLite cache file.
export {
  cacheStats,
  checkCache,
  pruneModel,
  pruneFileHashes,
  exportImageEmbeddings,
  EXPORT_FILES,
  type CacheCheck,
  type CacheFileStats,
  type ModelStats,
  type PreprocessingStats,
  type PruneResult,
  type FileHashPruneResult,
  type ExportResult,
} from './encode/cache/cache_admin.js';
// The same on a PostgreSQL store, from `await postgresBackend()` (postgresCacheStats, checkPostgresStore,
// prunePostgresModel, prunePostgresFileHashes, exportPostgresImageEmbeddings): loaded on first use, so that a
// program that uses no store never loads `pg`.
export { isPostgresUrl, postgresBackend } from './encode/cache/open_cache.js';
export type { StoreStats, StorePruneResult } from './encode/cache/postgres_cache.js';
export { similaritiesJson, predictionsCsv } from './report/tables.js';
export {
  SCHEMA_VERSIONS,
  SchemaVersionError,
  checkSchemaVersion,
  readRunFile,
  readMetricsFile,
  readErrorsFile,
  readPredictionsFile,
  parsePredictions,
  readComparisonFile,
  PREDICTION_COLUMNS,
  type RunFile,
  type MetricsFile,
  type ScoresFile,
  type ErrorLine,
  type PredictionRow,
  type PredictionTable,
  type ComparisonFile,
  type StrategyComparison,
  type AttributeComparison,
  type GroupComparison,
  type ChangedImage,
} from './report/result_files.js';
export { compareResultFolders, writeComparison, comparisonRecord, COMPARISON_FILES, type Comparison, type CompareOptions } from './report/compare.js';
export { compareRuns, DEFAULT_COMPARISON_SETTINGS, type ComparisonInput, type ComparisonSettings, type AlignedRun, type RunComparison } from './evaluate/compare/compare_runs.js';
export { mcnemarExact, discordantPairs, type McNemarTest } from './evaluate/compare/mcnemar.js';
export { predictionAgreement, type Agreement } from './evaluate/compare/agreement.js';
export { runSweep, type SweepOutcome, type SweepHooks } from './cli/sweep.js';
export { parseSweepFile, readSweepFile, SweepFileError, type SweepPlan, type SweepCombination } from './cli/sweep_file.js';
// Running on many machines: a plan of shards, one embed per shard into a store, collect scores them as run would.
export {
  makePlan,
  readPlan,
  writePlan,
  checkPlan,
  PlanMismatchError,
  selectShard,
  shardsFolder,
  planEntries,
  PLAN_FORMAT,
  PLAN_VERSION,
  type ShardPlan,
  type ShardRange,
} from './shards/plan.js';
export { planShards, embedShard, loadShardEmbedder, shardEmbeddings, planListing, type EmbedShardOptions, type ShardEmbedder, type ShardEmbedderOptions } from './shards/shard_run.js';
export { folderShardStore, openShardStore, type ShardStore, type ShardOutput } from './shards/shard_store.js';
export { readShard, shardFiles, SHARD_FORMAT, type ShardMetadata, type ShardDone } from './shards/shard_files.js';
export { DEVICES, type Device } from './encode/model.js';
export { defaultWorkerCount } from './encode/image/preprocess.js';
