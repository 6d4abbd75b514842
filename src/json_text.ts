/**
 * JSON text in, values out, with integers beyond 2^53 kept exact (as
 * bigints, like Parquet's and Postgres' int64) instead of rounded: ids must
 * survive a trip through score unchanged.
 *
 * @example
 * ```ts
 * parseJson('{"ride_id": 9007199254740993}'); // { ride_id: 9007199254740993n }
 * ```
 */
export function parseJson(text: string): unknown {
  return JSON.parse(text, exactIntegers);
}

function exactIntegers(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value === "number" && !Number.isSafeInteger(value) && context?.source && /^-?\d+$/.test(context.source)) {
    return BigInt(context.source);
  }
  return value;
}
