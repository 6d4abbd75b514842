/**
 * The two-sample Kolmogorov-Smirnov test over two distributions given as
 * weighted values (a sketch's, or every value of a small sample).
 */
import { kolmogorovSf } from "./probability.ts";
import { smirnovExactSf } from "./smirnov_exact.ts";
import type { WeightedValues } from "./quantile_sketch.ts";
import { walkCdfs } from "./walk_cdfs.ts";

/** The sample sizes (multiplied) up to which the p-value is exact: at most a million steps, a few milliseconds. */
const EXACT_MAX_PAIRS = 1_000_000;

/** The KS statistic (the largest gap between the two CDFs) and its two-sided p-value. */
export interface KsResult {
  statistic: number;
  pValue: number;
}

/**
 * D = max |F_a(x) - F_b(x)|, exactly SciPy's `ks_2samp` statistic when both hold every value. The p-value is exact
 * (`smirnovExactSf`, SciPy's exact method) while n_a n_b is at most a million, which covers every small window; past
 * it, Kolmogorov's limiting distribution with Stephens' correction, Q((sqrt(en) + 0.12 + 0.11 / sqrt(en)) D),
 * en = n_a n_b / (n_a + n_b), within ~0.01 of SciPy's there. Null when either side is empty.
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
  if (Number.isInteger(na) && Number.isInteger(nb) && na * nb <= EXACT_MAX_PAIRS) {
    return { statistic: d, pValue: smirnovExactSf(na, nb, d) };
  }
  const en = Math.sqrt((na * nb) / (na + nb));
  return { statistic: d, pValue: kolmogorovSf((en + 0.12 + 0.11 / en) * d) };
}
