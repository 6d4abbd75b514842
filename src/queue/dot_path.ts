/**
 * Reads a value out of parsed JSON by a dot path (`ride.trip_distance`).
 */

/**
 * The value at `path` in `value`, or undefined when any step is missing.
 * An empty path is the value itself.
 *
 * @example
 * ```ts
 * dotPath({ ride: { PULocationID: 130 } }, "ride.PULocationID"); // 130
 * ```
 */
export function dotPath(value: unknown, path: string): unknown {
  if (path === "") return value;
  let at = value;
  for (const key of path.split(".")) {
    if (typeof at !== "object" || at === null || Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}
