/**
 * The two-sample Kolmogorov-Smirnov test over two distributions given as
 * weighted values (a sketch's, or every value of a small sample).
 */
import { kolmogorovSf } from "./probability.ts";
import type { WeightedValues } from "./quantile_sketch.ts";
import { walkCdfs } from "./walk_cdfs.ts";

/** The KS statistic (the largest gap between the two CDFs) and its two-sided p-value. */
export interface KsResult {
  statistic: number;
  pValue: number;
}

/**
 * D = max |F_a(x) - F_b(x)|, exactly SciPy's `ks_2samp` statistic when both hold every value. The p-value is
 * Kolmogorov's limiting distribution with Stephens' correction, Q((sqrt(en) + 0.12 + 0.11 / sqrt(en)) D),
 * en = n_a n_b / (n_a + n_b): within ~0.01 of SciPy's exact and asymptotic p-values from a few dozen values on.
 * Null when either side is empty.
 *
 * @example
 * ```ts
 * ksTest(sketchA.weighted(), sketchB.weighted()); // { statistic: 0.21, pValue: 0.003 }
 * ```
 */
export function ksTest(a: WeightedValues, b: WeightedValues): KsResult | null {
  let d = 0;
  const totals = walkCdfs(a, b, (_x, fa, fb) => {
    const gap = Math.abs(fa - fb);
    if (gap > d) d = gap;
  });
  if (totals === null) return null;
  const [na, nb] = totals;
  const en = Math.sqrt((na * nb) / (na + nb));
  return { statistic: d, pValue: kolmogorovSf((en + 0.12 + 0.11 / en) * d) };
}
