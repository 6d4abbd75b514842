/**
 * One column's drift between a reference profile and a current one, with
 * the test that decides it chosen as Evidently's default does.
 */
import { CategoricalProfile } from "./categorical_profile.ts";
import { chiSquaredTest } from "./chi_squared_test.ts";
import { jensenShannon } from "./jensen_shannon.ts";
import { ksTest } from "./ks_test.ts";
import { NumericProfile } from "./numeric_profile.ts";
import type { WeightedValues } from "./quantile_sketch.ts";
import { wassersteinDistance } from "./wasserstein_distance.ts";

/** A column's profile, either kind. */
export type ColumnProfile = NumericProfile | CategoricalProfile;

/** The test that decides a column's drift. */
export type DriftMethod = "wasserstein" | "ks" | "jensen_shannon" | "chi_squared";

/** When a column counts as drifted (Evidently's defaults). */
export interface DriftThresholds {
  /** A reference with more values than this is "large": distances decide; else tests' p-values do. */
  largeReference: number;
  /** Wasserstein distance / the reference's std at or above this: drift. */
  wasserstein: number;
  /** Jensen-Shannon distance at or above this: drift. */
  jensenShannon: number;
  /** KS or chi-squared p-value below this: drift. */
  pValue: number;
}

/** Evidently's defaults: https://docs.evidentlyai.com/ (data drift algorithm). */
export const DEFAULT_THRESHOLDS: DriftThresholds = {
  largeReference: 1000,
  wasserstein: 0.1,
  jensenShannon: 0.1,
  pValue: 0.05,
};

/** The floor of the spread Wasserstein distances are divided by (Evidently's), so a constant column has one. */
export const MIN_SPREAD = 0.001;

/** One column's drift, named as it is written (JSON lines, Postgres columns). */
export interface ColumnDrift {
  kind: "numeric" | "categorical";
  /** Rows in the current window, and those with a value. */
  row_count: number;
  value_count: number;
  /** Share of the window's rows without a value; null for a window without rows. */
  missing_share: number | null;
  reference_missing_share: number | null;
  method: DriftMethod;
  threshold: number;
  /** The deciding statistic (a distance, or a p-value); null when either side has no value. */
  score: number | null;
  drifted: boolean;
  wasserstein_normed: number | null;
  ks_statistic: number | null;
  ks_p_value: number | null;
  jensen_shannon: number | null;
  chi_squared: number | null;
  chi_squared_p_value: number | null;
  mean: number | null;
  reference_mean: number | null;
}

/**
 * Compares a column's current profile with its reference. The deciding test follows Evidently's default: with a
 * reference of more than 1000 values, the Wasserstein distance divided by the reference's population std (at least
 * 0.001) for a numeric column, the Jensen-Shannon distance for a categorical one, both drifting at >= 0.1; with a
 * smaller reference, the KS test's or the chi-squared test's p-value, drifting below 0.05. Every statistic of the
 * column's kind is reported whichever decides. Without values on either side (an empty window, an all-missing
 * column, an empty reference) the statistics and the score are null and the column is not drifted: its missing
 * share tells.
 *
 * @example
 * ```ts
 * columnDrift(referenceProfile, windowProfile); // { method: "wasserstein", score: 0.23, drifted: true, ... }
 * ```
 */
export function columnDrift(
  reference: ColumnProfile,
  current: ColumnProfile,
  thresholds: DriftThresholds = DEFAULT_THRESHOLDS,
  referenceWeighted?: WeightedValues,
): ColumnDrift {
  const large = reference.values > thresholds.largeReference;
  const base = {
    row_count: current.rows,
    value_count: current.values,
    missing_share: current.rows > 0 ? current.missing / current.rows : null,
    reference_missing_share: reference.rows > 0 ? reference.missing / reference.rows : null,
    wasserstein_normed: null,
    ks_statistic: null,
    ks_p_value: null,
    jensen_shannon: null,
    chi_squared: null,
    chi_squared_p_value: null,
    mean: null,
    reference_mean: null,
  };
  // Every statistic null and not drifted, until both sides have values.
  const undecided = (kind: ColumnDrift["kind"], method: DriftMethod, threshold: number): ColumnDrift => ({
    ...base,
    kind,
    method,
    threshold,
    score: null,
    drifted: false,
  });
  if (reference instanceof NumericProfile && current instanceof NumericProfile) {
    const out: ColumnDrift = {
      ...undecided("numeric", large ? "wasserstein" : "ks", large ? thresholds.wasserstein : thresholds.pValue),
      mean: current.values > 0 ? current.mean : null,
      reference_mean: reference.values > 0 ? reference.mean : null,
    };
    const a = referenceWeighted ?? reference.sketch.weighted();
    const b = current.sketch.weighted();
    const ks = ksTest(a, b);
    const w = wassersteinDistance(a, b);
    if (ks === null || w === null) return out;
    out.ks_statistic = ks.statistic;
    out.ks_p_value = ks.pValue;
    out.wasserstein_normed = w / Math.max(reference.std ?? 0, MIN_SPREAD);
    return decide(out, large, out.wasserstein_normed, ks.pValue);
  }
  if (reference instanceof CategoricalProfile && current instanceof CategoricalProfile) {
    const out = undecided(
      "categorical",
      large ? "jensen_shannon" : "chi_squared",
      large ? thresholds.jensenShannon : thresholds.pValue,
    );
    const [p, q] = alignCounts(reference, current);
    const js = jensenShannon(p, q);
    const chi = chiSquaredTest(p, q);
    if (js === null || chi === null) return out;
    out.jensen_shannon = js;
    out.chi_squared = chi.statistic;
    out.chi_squared_p_value = chi.pValue;
    return decide(out, large, js, chi.pValue);
  }
  throw new RangeError(`cannot compare a ${reference.kind} reference with a ${current.kind} window`);
}

/**
 * Sets the verdict of `out`, whose `threshold` is the deciding test's: with a large reference the distance decides,
 * drifting at or above it; else the p-value, drifting below it.
 */
function decide(out: ColumnDrift, large: boolean, distance: number, pValue: number): ColumnDrift {
  out.score = large ? distance : pValue;
  out.drifted = large ? distance >= out.threshold : pValue < out.threshold;
  return out;
}

/**
 * Both sides' counts over the union of their categories (a category one side never saw counts 0 there), the
 * values past either's cap last, as one category "other".
 */
export function alignCounts(reference: CategoricalProfile, current: CategoricalProfile): [number[], number[]] {
  const ref = reference.counts();
  const cur = current.counts();
  const names = new Set([...ref.keys(), ...cur.keys()]);
  const p: number[] = [];
  const q: number[] = [];
  for (const name of names) {
    p.push(ref.get(name) ?? 0);
    q.push(cur.get(name) ?? 0);
  }
  if (reference.other > 0 || current.other > 0) {
    p.push(reference.other);
    q.push(current.other);
  }
  return [p, q];
}
