/**
 * A DuckDB query's rows as the pipeline's batches: DuckDB's 2,048-row
 * chunks joined into batches of the size asked for, typed arrays kept
 * typed.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { sqlName, streamColumns } from "../duckdb/mod.ts";
import { type RowBatch, sliceColumn, type SourceReject } from "../rows.ts";
import { concatText, isTextBytes, sliceText, type TextBytes } from "../text_bytes.ts";

/**
 * A batch whose text columns may be {@linkcode TextBytes} (see `duckdbBatches`' `textBytes`), as the reader's worker
 * sends it; a JSON reader's also has its rejects and how far into the file it reaches.
 */
export interface ColumnBatch {
  offset: number;
  length: number;
  columns: Record<string, ArrayLike<unknown> | TextBytes>;
  rowNumbers?: ArrayLike<number>;
  rejects?: SourceReject[];
  /** How far into the file the batch's records reach, in characters (a JSON file's progress). */
  consumed?: number;
}

/** What {@linkcode duckdbBatches} is told besides its query. */
type BatchOptions =
  & { offset?: number }
  & ({ check: (rows: number) => Promise<void>; endMarked?: undefined } | { endMarked: true; check?: undefined });

/**
 * Reads `sql` (whose columns are `names`, in order) in batches of
 * `batchSize` rows; `offset` is the source index of the first row.
 *
 * A DuckDB stream that fails midway ends as if it were done, so a stream
 * must prove it was read whole, one of two ways:
 * - `check` is called with the number of rows read once the stream ends,
 *   and must throw when that is not every row;
 * - `endMarked`: `sql` is a query wrapped by {@linkcode endMarked}, whose
 *   last row marks its end; the marker row is dropped, and a stream that
 *   ends without it throws.
 *
 * Either way the rows it holds back are not given when it throws.
 *
 * @example
 * ```ts
 * const check = (rows: number) => (rows === 1 ? Promise.resolve() : Promise.reject(new Error(`read ${rows} of 1`)));
 * for await (const b of duckdbBatches(db.connection, "select 1 as x", ["x"], 10_000, { check })) b.columns.x;
 * const sql = endMarked("select 1 as x", ["x"]);
 * for await (const b of duckdbBatches(db.connection, sql, ["x"], 10_000, { endMarked: true })) b.columns.x;
 * ```
 */
export function duckdbBatches(
  connection: DuckDBConnection,
  sql: string,
  names: string[],
  batchSize: number,
  options: BatchOptions & { textBytes?: false },
): AsyncGenerator<RowBatch>;
export function duckdbBatches(
  connection: DuckDBConnection,
  sql: string,
  names: string[],
  batchSize: number,
  options: BatchOptions & { textBytes: true },
): AsyncGenerator<ColumnBatch>;
export async function* duckdbBatches(
  connection: DuckDBConnection,
  sql: string,
  names: string[],
  batchSize: number,
  options: BatchOptions & { textBytes?: boolean },
): AsyncGenerator<ColumnBatch> {
  let offset = options.offset ?? 0;
  let parts: (ArrayLike<unknown> | TextBytes)[][] = names.map(() => []);
  let buffered = 0;
  let ended = false;
  const flush = (): ColumnBatch => {
    const columns: Record<string, ArrayLike<unknown> | TextBytes> = {};
    names.forEach((name, c) => (columns[name] = concat(parts[c], buffered)));
    const batch = { offset, length: buffered, columns };
    offset += buffered;
    parts = names.map(() => []);
    buffered = 0;
    return batch;
  };
  const chunks = options.textBytes
    ? streamColumns(connection, sql, { textBytes: true })
    : streamColumns(connection, sql);
  for await (const chunk of chunks) {
    if (ended) throw new Error("DuckDB gave rows after the end of its result");
    let length = chunk.length;
    if (options.endMarked) {
      const end = markerRow(chunk.columns[names.length]);
      if (end >= 0) {
        if (end !== length - 1) throw new Error("DuckDB gave rows after the end of its result");
        ended = true;
        length = end;
      }
    }
    let from = 0;
    while (from < length) {
      const take = Math.min(batchSize - buffered, length - from);
      for (let c = 0; c < names.length; c++) {
        const column = chunk.columns[c];
        parts[c].push(
          isTextBytes(column) ? sliceText(column, from, from + take) : sliceColumn(column, from, from + take),
        );
      }
      buffered += take;
      from += take;
      if (buffered === batchSize) yield flush();
    }
  }
  const rows = offset + buffered - (options.offset ?? 0);
  if (options.endMarked) {
    if (!ended) throw new Error(`DuckDB's result ended early, after ${rows} rows`);
  } else {
    await options.check(rows);
  }
  if (buffered > 0) yield flush();
}

/**
 * `sql` with a last row that marks its end, for {@linkcode duckdbBatches}' `endMarked`: a column after `names`
 * that is 0 on every row of `sql` and 1 on the marker row. DuckDB keeps the order of a UNION ALL's parts
 * (`preserve_insertion_order`), so the marker comes after every row, and a query that fails gives no marker.
 * Cheaper than counting the rows beside the stream: that reads the input twice.
 *
 * @example
 * ```ts
 * endMarked("select 1 as x", ["x"]); // select "x", 0::UTINYINT ... union all select null, 1::UTINYINT
 * ```
 */
export function endMarked(sql: string, names: string[]): string {
  const marker = sqlName(`end_marker_${names.length}`);
  return `select ${names.map(sqlName).join(", ")}, 0::UTINYINT as ${marker} from (${sql}) ` +
    `union all select ${names.map(() => "null").join(", ")}, 1::UTINYINT`;
}

/** Where the marker column holds 1, or -1. */
function markerRow(marker: ArrayLike<unknown> | TextBytes): number {
  if (isTextBytes(marker)) throw new Error("DuckDB gave the end marker as text");
  if (marker instanceof Uint8Array) return marker.indexOf(1);
  for (let i = 0; i < marker.length; i++) if (marker[i] === 1) return i;
  return -1;
}

/** Joins parts: text bytes as text bytes, one typed array when every part is one of the same kind, else a plain array. */
function concat(parts: (ArrayLike<unknown> | TextBytes)[], length: number): ArrayLike<unknown> | TextBytes {
  if (parts.length === 1) return parts[0];
  if (parts.every(isTextBytes)) return concatText(parts);
  if (parts.some(isTextBytes)) throw new Error("DuckDB gave a column as text and as values");
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
  if (parts.every(Array.isArray)) return ([] as unknown[]).concat(...(parts as unknown[][]));
  const out = new Array<unknown>(length);
  let at = 0;
  for (const p of parts as ArrayLike<unknown>[]) for (let i = 0; i < p.length; i++) out[at++] = p[i];
  return out;
}
