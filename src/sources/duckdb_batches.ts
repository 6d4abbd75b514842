/**
 * A DuckDB query's rows as the pipeline's batches: DuckDB's 2,048-row
 * chunks joined into batches of the size asked for, typed arrays kept
 * typed.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { streamColumns } from "../duckdb/duckdb.ts";
import { type RowBatch, sliceColumn } from "../rows.ts";

/** How each selected column's values are turned into the source's (dates from epoch milliseconds, ...). */
export type ColumnConverter = ((values: ArrayLike<unknown>) => ArrayLike<unknown>) | undefined;

/**
 * Reads `sql` (whose columns are `names`, in order) in batches of
 * `batchSize` rows; `offset` is the source index of the first row.
 * `onRows` hears how many rows were read so far.
 *
 * A DuckDB stream that fails midway ends as if it were done, so `check` is
 * called with the number of rows read once the stream ends, and must throw
 * when that is not every row (the rows it holds back are not given).
 *
 * @example
 * ```ts
 * const check = (rows: number) => (rows === 1 ? Promise.resolve() : Promise.reject(new Error(`read ${rows} of 1`)));
 * for await (const b of duckdbBatches(db.connection, "select 1 as x", ["x"], 10_000, { check })) b.columns.x;
 * ```
 */
export async function* duckdbBatches(
  connection: DuckDBConnection,
  sql: string,
  names: string[],
  batchSize: number,
  options: {
    offset?: number;
    convert?: ColumnConverter[];
    onRows?: (rows: number) => void;
    check: (rows: number) => Promise<void>;
  },
): AsyncGenerator<RowBatch> {
  let offset = options.offset ?? 0;
  let parts: ArrayLike<unknown>[][] = names.map(() => []);
  let buffered = 0;
  const flush = (): RowBatch => {
    const columns: Record<string, ArrayLike<unknown>> = {};
    names.forEach((name, c) => {
      const joined = concat(parts[c], buffered);
      columns[name] = options.convert?.[c]?.(joined) ?? joined;
    });
    const batch = { offset, length: buffered, columns };
    offset += buffered;
    parts = names.map(() => []);
    buffered = 0;
    options.onRows?.(offset);
    return batch;
  };
  for await (const chunk of streamColumns(connection, sql)) {
    let from = 0;
    while (from < chunk.length) {
      const take = Math.min(batchSize - buffered, chunk.length - from);
      for (let c = 0; c < names.length; c++) parts[c].push(sliceColumn(chunk.columns[c], from, from + take));
      buffered += take;
      from += take;
      if (buffered === batchSize) yield flush();
    }
  }
  await options.check(offset + buffered - (options.offset ?? 0));
  if (buffered > 0) yield flush();
}

/** Joins parts: one typed array when every part is one of the same kind, else a plain array. */
function concat(parts: ArrayLike<unknown>[], length: number): ArrayLike<unknown> {
  if (parts.length === 1) return parts[0];
  const first = parts[0];
  if (ArrayBuffer.isView(first) && parts.every((p) => p.constructor === first.constructor)) {
    const out = new (first.constructor as new (n: number) => Float64Array)(length);
    let at = 0;
    for (const p of parts) {
      out.set(p as Float64Array, at);
      at += p.length;
    }
    return out;
  }
  const out = new Array<unknown>(length);
  let at = 0;
  for (const p of parts) for (let i = 0; i < p.length; i++) out[at++] = p[i];
  return out;
}
