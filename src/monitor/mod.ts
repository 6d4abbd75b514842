/**
 * Monitoring: profiles of a model's columns folded as rows pass (bounded
 * memory, mergeable) and their drift from a reference, as Evidently's
 * default tests decide it. Pure: no I/O.
 */
export { QuantileSketch, type QuantileSketchJson, SKETCH_K, type WeightedValues } from "./quantile_sketch.ts";
export { NumericProfile, type NumericProfileJson } from "./numeric_profile.ts";
export { CategoricalProfile, type CategoricalProfileJson, MAX_CATEGORIES } from "./categorical_profile.ts";
export { type KsResult, ksTest } from "./ks_test.ts";
export { wassersteinDistance } from "./wasserstein_distance.ts";
export { jensenShannon } from "./jensen_shannon.ts";
export { numberColumns, parsedNumbers } from "./parsed_numbers.ts";
export { type ChiSquaredResult, chiSquaredTest } from "./chi_squared_test.ts";
export { chiSquaredSf, kolmogorovSf } from "./probability.ts";
export {
  alignCounts,
  type ColumnDrift,
  columnDrift,
  type ColumnProfile,
  DEFAULT_THRESHOLDS,
  type DriftMethod,
  type DriftThresholds,
  MIN_SPREAD,
} from "./column_drift.ts";
export {
  type ColumnDriftRow,
  type ColumnRole,
  type ColumnSpec,
  DatasetProfile,
  type DatasetProfileJson,
  PROFILE_FORMAT,
} from "./dataset_profile.ts";
export { type DriftReportInput, renderDriftReport } from "./drift_report.ts";
export { mergeShards, type ShardColumnRow } from "./merge_shards.ts";
export { SlidingDrift, type SlidingDriftOptions } from "./sliding_drift.ts";
