/**
 * A model's number inputs as the model reads them, for a profile: a text
 * such as `24.0` (pandas writes an integer column holding a NaN so) is the
 * number 24 to the model, and must be the category `24` to a monitor too,
 * or the same rides would drift from themselves.
 */

/**
 * `columns` with the numeric texts of the columns `names` as numbers (a fresh array for a column that had some;
 * typed arrays and other values as they are).
 *
 * @example
 * ```ts
 * parsedNumbers({ PULocationID: ["24.0", 24, "x"] }, ["PULocationID"]); // { PULocationID: [24, 24, "x"] }
 * ```
 */
export function parsedNumbers(
  columns: Record<string, ArrayLike<unknown>>,
  names: readonly string[],
): Record<string, ArrayLike<unknown>> {
  let out: Record<string, ArrayLike<unknown>> | undefined;
  for (const name of names) {
    const values = columns[name];
    if (values === undefined || ArrayBuffer.isView(values)) continue;
    let parsed: unknown[] | undefined;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v !== "string" || v.trim() === "") continue;
      const n = Number(v);
      if (!Number.isFinite(n)) continue;
      parsed ??= Array.from(values);
      parsed[i] = n;
    }
    if (parsed !== undefined) (out ??= { ...columns })[name] = parsed;
  }
  return out ?? columns;
}

/**
 * The columns of the inputs a model reads as numbers (every type but text and bool).
 *
 * @example
 * ```ts
 * numberColumns(model.inputs); // ["PULocationID", "DOLocationID", "trip_distance"]
 * ```
 */
export function numberColumns(inputs: readonly { type: string; columns: readonly string[] }[]): string[] {
  return inputs.filter((i) => i.type !== "string" && i.type !== "bool").flatMap((i) => i.columns);
}
