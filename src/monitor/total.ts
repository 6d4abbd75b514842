/** The sum the distribution statistics normalise by. */

/**
 * The sum of the weights (or counts).
 *
 * @example
 * ```ts
 * total([30, 70]); // 100
 * ```
 */
export function total(weights: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < weights.length; i++) n += weights[i];
  return n;
}
