/**
 * The shape data takes between a source, the model and a sink: a batch of
 * rows held as columns. Sources produce it, sinks consume it; neither sees
 * the model.
 *
 * @example
 * ```ts
 * const batch: RowBatch = { offset: 0, length: 2, columns: { trip_distance: [1.2, 3.4] } };
 * ```
 */
import type { TensorType } from "./model/mod.ts";

/** The value types a column may have, as sinks need to know them to write: the model's tensor types and a few more. */
export type ValueType = TensorType | "timestamp" | "timestamptz" | "date" | "json";

/** A column's name and type; `dbType` keeps a database's own type name where known. */
export interface ColumnInfo {
  name: string;
  type: ValueType;
  dbType?: string;
}

/** A row a source could not read (a ragged CSV line, a line that is not JSON). */
export interface SourceReject {
  /** 0-based index of the row in the source. */
  row: number;
  message: string;
  /** What could be read of it. */
  data: unknown;
}

/** Rows as columns: every column holds `length` values. */
export interface RowBatch {
  /** 0-based index in the source of the batch's first row (rejected rows count too). */
  offset: number;
  length: number;
  columns: Record<string, ArrayLike<unknown>>;
  /** Source index of each row when rows were skipped; else row i is `offset + i`. */
  rowNumbers?: ArrayLike<number>;
  /** Rows of this stretch of the source that could not be read. */
  rejects?: SourceReject[];
}

/**
 * Rows `start` to `end` of a column without copying: a typed array's
 * `subarray` (a view), a plain array's slice; the column itself when that is
 * all of it.
 *
 * @example
 * ```ts
 * sliceColumn(new Float64Array([1, 2, 3]), 1, 3); // Float64Array [2, 3], a view
 * ```
 */
export function sliceColumn(values: ArrayLike<unknown>, start: number, end: number): ArrayLike<unknown> {
  if (start === 0 && end === values.length) return values;
  if (ArrayBuffer.isView(values)) return (values as unknown as Float64Array).subarray(start, end);
  return (values as unknown[]).slice(start, end);
}

/** Picks the rows at `indices` out of a column, keeping typed arrays typed. */
export function gatherColumn(values: ArrayLike<unknown>, indices: ArrayLike<number>): ArrayLike<unknown> {
  if (ArrayBuffer.isView(values)) {
    const ctor = values.constructor as new (n: number) => { [i: number]: unknown } & ArrayLike<unknown>;
    const out = new ctor(indices.length);
    for (let j = 0; j < indices.length; j++) out[j] = values[indices[j]];
    return out;
  }
  return Array.from({ length: indices.length }, (_, j) => values[indices[j]]);
}

/**
 * Turns row objects (JSON requests, queue messages) into columns: one
 * column per key seen in any row; a row lacking a key has `undefined` there.
 *
 * @example
 * ```ts
 * rowsToColumns([{ a: 1 }, { a: 2, b: "x" }]); // { a: [1, 2], b: [undefined, "x"] }
 * ```
 */
export function rowsToColumns(rows: readonly Record<string, unknown>[]): Record<string, unknown[]> {
  const columns: Record<string, unknown[]> = {};
  for (let r = 0; r < rows.length; r++) {
    for (const key of Object.keys(rows[r])) {
      (columns[key] ??= new Array(rows.length))[r] = rows[r][key];
    }
  }
  return columns;
}
