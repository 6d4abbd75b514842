/** The Jensen-Shannon distance between two distributions over the same categories. */
import { total } from "./total.ts";

/**
 * sqrt of the Jensen-Shannon divergence, natural logarithm (SciPy's `scipy.spatial.distance.jensenshannon` with its
 * default base, which Evidently uses): 0 for equal distributions, at most sqrt(ln 2) ~ 0.833 for disjoint ones.
 * `p` and `q` are counts (or weights) per category, in the same order; each is normalised to sum to 1. Null when
 * either sums to 0.
 *
 * @example
 * ```ts
 * jensenShannon([10, 0], [0, 10]); // 0.8325546111576977
 * ```
 */
export function jensenShannon(p: ArrayLike<number>, q: ArrayLike<number>): number | null {
  const sp = total(p);
  const sq = total(q);
  if (sp === 0 || sq === 0) return null;
  let js = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i] / sp;
    const b = q[i] / sq;
    const m = (a + b) / 2;
    if (a > 0) js += a * Math.log(a / m);
    if (b > 0) js += b * Math.log(b / m);
  }
  return Math.sqrt(Math.max(0, js / 2));
}
