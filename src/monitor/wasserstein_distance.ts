/**
 * The first Wasserstein distance (earth mover's distance) between two
 * distributions given as weighted values.
 */
import type { WeightedValues } from "./quantile_sketch.ts";
import { walkCdfs } from "./walk_cdfs.ts";

/**
 * W1 = the integral of |F_a(x) - F_b(x)| over x, as SciPy's `wasserstein_distance` computes it: exactly its value
 * (to rounding) when both hold every value. In the units of the values: divide by a spread to compare columns.
 * Null when either side is empty.
 *
 * @example
 * ```ts
 * wassersteinDistance(sketchA.weighted(), sketchB.weighted()); // 1.7
 * ```
 */
export function wassersteinDistance(a: WeightedValues, b: WeightedValues): number | null {
  let sum = 0;
  let previous = NaN;
  let gap = 0;
  const totals = walkCdfs(a, b, (x, fa, fb) => {
    // The CDFs' gap holds from the value before up to this one.
    if (previous === previous) sum += gap * (x - previous);
    gap = Math.abs(fa - fb);
    previous = x;
  });
  return totals === null ? null : sum;
}
