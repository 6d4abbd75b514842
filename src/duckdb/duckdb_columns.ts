/**
 * The one place that reaches into `@duckdb/node-api`'s vectors: a result's
 * columns come out as typed arrays (one copy of DuckDB's own memory, no
 * value objects), and typed arrays go into an appender the same way.
 *
 * Numbers and text go through `@duckdb/node-bindings` (the library's own
 * C API binding) directly, a call per vector: the friendlier vector objects
 * cost several calls and two copies per vector, which for 2,048-row chunks
 * was as much as DuckDB's own work. Other types go through those objects.
 *
 * `tests/duckdb/duckdb_columns_test.ts` pins what this relies on: under Deno,
 * `vector_get_data` returns a copy of the vector's memory (kept as it is,
 * not copied again; a VARCHAR's is its 16-byte string headers, a longer
 * string's bytes read with `get_data_from_pointer`); `vector_get_validity`
 * gives a vector's mask, null when every row is valid; `copy_data_to_vector`
 * writes into a chunk's vector; a numeric vector object keeps its values in
 * a typed array named `items`, and `flush()` copies what `setItem` set
 * into DuckDB's vector.
 */
import type { DuckDBAppender, DuckDBConnection, DuckDBDataChunk } from "@duckdb/node-api";
import { busy, loadedApi, loadedBindings } from "./duckdb.ts";
import type * as NodeApi from "./duckdb_node_api.ts";
import { type TextBytes, textOf } from "../text_bytes.ts";

type Bindings = typeof NodeApi.bindings;

/** The typed array each numeric DuckDB type's vector holds, by type id; other types have none here. */
function numericArrays(): Map<number, TypedArrayClass> {
  const id = loadedApi().DuckDBTypeId;
  return new Map<number, TypedArrayClass>([
    [id.TINYINT, Int8Array],
    [id.SMALLINT, Int16Array],
    [id.INTEGER, Int32Array],
    [id.BIGINT, BigInt64Array],
    [id.UTINYINT, Uint8Array],
    [id.USMALLINT, Uint16Array],
    [id.UINTEGER, Uint32Array],
    [id.UBIGINT, BigUint64Array],
    [id.FLOAT, Float32Array],
    [id.DOUBLE, Float64Array],
  ]);
}

type TypedArrayClass = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArray;
  new (length: number): TypedArray;
  readonly BYTES_PER_ELEMENT: number;
};
/** What of a typed array this file uses: its values and where they lie in their buffer. */
type TypedArray = ArrayBufferView & ArrayLike<unknown>;

/** The column types `appendColumns` writes. */
export type ColumnType = "DOUBLE" | "FLOAT" | "BIGINT" | "INTEGER" | "BOOLEAN" | "VARCHAR";

/**
 * One chunk of a result: a value array per column, typed where DuckDB's type allows and no value is null; text as
 * strings, or as {@linkcode TextBytes} when asked for.
 */
export interface ColumnChunk<Text = never> {
  length: number;
  columns: (ArrayLike<unknown> | Text)[];
}

/**
 * Streams a query's rows as columns, one DuckDB chunk (2,048 rows) at a
 * time.
 *
 * Beware: a streamed query that fails midway ENDS like one that is done
 * (the binding does not read the result's error), so a caller must check
 * that it read every row by other means (see `duckdbBatches`' `check` and `endMarked`). Numeric columns come as typed arrays (BIGINT as BigInt64Array);
 * a chunk with a null in such a column gives a plain array with `null`
 * there. VARCHAR gives strings (with `textBytes`, the chunk's texts as
 * bytes, decoded later and elsewhere), BOOLEAN booleans; convert other types
 * to one of these in the query.
 *
 * @example
 * ```ts
 * for await (const chunk of streamColumns(db.connection, "select 1.5 as x")) chunk.columns[0]; // Float64Array [1.5]
 * for await (const chunk of streamColumns(db.connection, "select 'a' as s", { textBytes: true })) chunk.columns[0]; // { kind: "text-bytes", ... }
 * ```
 */
export function streamColumns(connection: DuckDBConnection, sql: string): AsyncGenerator<ColumnChunk>;
export function streamColumns(
  connection: DuckDBConnection,
  sql: string,
  options: { textBytes: true },
): AsyncGenerator<ColumnChunk<TextBytes>>;
export async function* streamColumns(
  connection: DuckDBConnection,
  sql: string,
  options: { textBytes?: boolean } = {},
): AsyncGenerator<ColumnChunk<TextBytes>> {
  const result = await busy(connection, () => connection.stream(sql));
  const numeric = numericArrays();
  const types = Array.from({ length: result.columnCount }, (_, c) => result.columnTypeId(c));
  const arrays = types.map((t) => numeric.get(t));
  const text = types.map((t) => t === loadedApi().DuckDBTypeId.VARCHAR);
  // The next chunk is asked for before this one is read: DuckDB fetches it while JavaScript copies this one.
  let next = busy(connection, () => result.fetchChunk());
  // Awaited below; this only keeps a rejection while the caller holds a chunk from counting as unhandled.
  next.catch(() => null);
  try {
    for (;;) {
      const chunk = await next;
      if (chunk === null) return;
      const length = chunk.rowCount;
      if (length === 0) return;
      next = busy(connection, () => result.fetchChunk());
      next.catch(() => null);
      const columns: (ArrayLike<unknown> | TextBytes)[] = [];
      for (let c = 0; c < arrays.length; c++) {
        const array = arrays[c];
        if (array) columns.push(numericValues(chunk, c, length, array));
        else if (!text[c]) columns.push(vectorValues(chunk, c, length));
        else if (options.textBytes) columns.push(textBytes(chunk, c, length));
        else columns.push(textOf(textBytes(chunk, c, length)));
      }
      yield { length, columns };
    }
  } finally {
    // A caller that stops early must not close the connection under a fetch still running.
    await next.catch(() => null);
  }
}

/** A numeric vector's values: its memory as the binding copied it out, typed; a plain array with nulls if any. */
function numericValues(chunk: DuckDBDataChunk, c: number, length: number, array: TypedArrayClass): ArrayLike<unknown> {
  const duckdb = loadedBindings();
  const vector = duckdb.data_chunk_get_vector(chunk.chunk, c);
  const bytes = duckdb.vector_get_data(vector, length * array.BYTES_PER_ELEMENT);
  const values = bytes.byteOffset % array.BYTES_PER_ELEMENT === 0
    ? new array(bytes.buffer, bytes.byteOffset, length)
    : new array(bytes.slice().buffer, 0, length);
  const mask = validityOf(vector, length);
  if (allValid(mask, length)) return values;
  const out = new Array<unknown>(length);
  for (let i = 0; i < length; i++) out[i] = validAt(mask, i) ? values[i] : null;
  return out;
}

/** The parts of a vector this file reads and writes directly (see the file's comment). */
interface RawVector {
  items?: ArrayLike<unknown> & { slice(): ArrayLike<unknown>; set(values: ArrayLike<unknown>, at?: number): void };
  getItem(i: number): unknown;
  setItem(i: number, v: unknown): void;
  flush(): void;
}

function vectorValues(chunk: DuckDBDataChunk, c: number, length: number): ArrayLike<unknown> {
  const mask = validityOf(loadedBindings().data_chunk_get_vector(chunk.chunk, c), length);
  // A vector of nulls only (a CSV number column's text beside its numbers, mostly) is told by its mask alone.
  if (noneValid(mask, length)) return new Array<unknown>(length).fill(null);
  const vector = chunk.getColumnVector(c) as unknown as RawVector;
  if (vector.items !== undefined && ArrayBuffer.isView(vector.items)) {
    // A copy: the chunk's memory goes back to DuckDB.
    if (allValid(mask, length)) return vector.items.slice();
    const out = new Array<unknown>(length);
    for (let i = 0; i < length; i++) out[i] = validAt(mask, i) ? vector.items[i] : null;
    return out;
  }
  const out = new Array<unknown>(length).fill(null);
  for (let b = 0; b < Math.ceil(length / 8); b++) {
    // A byte of 8 nulls (a column that is mostly null) is skipped whole.
    if (mask !== null && mask[b] === 0) continue;
    for (let i = b * 8; i < Math.min(length, b * 8 + 8); i++) {
      if (validAt(mask, i)) out[i] = vector.getItem(i);
    }
  }
  return out;
}

/**
 * A VARCHAR vector's texts as bytes, from its 16-byte headers as the binding copies them out: a string of up to 12
 * bytes is in its header, a longer one is copied from where the header points (the chunk, alive here, holds it).
 */
function textBytes(chunk: DuckDBDataChunk, c: number, length: number): TextBytes {
  const duckdb = loadedBindings();
  const vector = duckdb.data_chunk_get_vector(chunk.chunk, c);
  const mask = validityOf(vector, length);
  const ends = new Int32Array(length);
  if (noneValid(mask, length)) {
    return { kind: "text-bytes", length, bytes: new Uint8Array(0), ends, nulls: new Uint8Array(length).fill(1) };
  }
  const headers = duckdb.vector_get_data(vector, length * 16);
  const view = new DataView(headers.buffer, headers.byteOffset, headers.byteLength);
  let size = 0;
  for (let i = 0; i < length; i++) if (validAt(mask, i)) size += view.getUint32(i * 16, true);
  const bytes = new Uint8Array(size);
  const nulls = mask === null ? undefined : new Uint8Array(length);
  let at = 0;
  for (let i = 0; i < length; i++) {
    if (!validAt(mask, i)) {
      nulls![i] = 1;
      ends[i] = at;
      continue;
    }
    const h = i * 16;
    const n = view.getUint32(h, true);
    if (n <= 12) {
      for (let k = 0; k < n; k++) bytes[at + k] = headers[h + 4 + k];
    } else {
      bytes.set(duckdb.get_data_from_pointer(headers.buffer as ArrayBuffer, headers.byteOffset + h + 8, n), at);
    }
    ends[i] = at += n;
  }
  return { kind: "text-bytes", length, bytes, ends, nulls };
}

/** Whether `values[start]` .. `values[start + n - 1]` are all strings. */
function everyString(values: ArrayLike<unknown>, start: number, n: number): boolean {
  for (let i = start; i < start + n; i++) if (typeof values[i] !== "string") return false;
  return true;
}

/** A vector's validity mask, a bit a row (set: valid), or null when every row is valid. */
function validityOf(vector: ReturnType<Bindings["data_chunk_get_vector"]>, length: number): Uint8Array | null {
  return loadedBindings().vector_get_validity(vector, Math.ceil(length / 8));
}

/** Whether a mask (see {@linkcode validityOf}) marks every one of `length` rows null. */
function noneValid(mask: Uint8Array | null, length: number): boolean {
  if (mask === null) return false;
  for (let i = 0; i < mask.length - 1; i++) if (mask[i] !== 0) return false;
  return (mask[mask.length - 1] & ((1 << (length - 8 * (mask.length - 1))) - 1)) === 0;
}

/** Whether row `i` is valid in a mask (see {@linkcode validityOf}). */
function validAt(mask: Uint8Array | null, i: number): boolean {
  return mask === null || ((mask[i >>> 3] >>> (i & 7)) & 1) === 1;
}

/** Whether a mask (see {@linkcode validityOf}) marks every one of `length` rows valid. */
function allValid(mask: Uint8Array | null, length: number): boolean {
  if (mask === null) return true;
  const full = length >>> 3;
  for (let b = 0; b < full; b++) if (mask[b] !== 0xff) return false;
  for (let i = full * 8; i < length; i++) if (!validAt(mask, i)) return false;
  return true;
}

/**
 * Appends `length` rows given as columns (one per appender column, of the
 * matching `types`) in DuckDB chunks. A typed array of the column's own
 * element type is copied as it is; anything else goes value by value
 * (null or undefined is NULL).
 *
 * @example
 * ```ts
 * appendColumns(appender, ["DOUBLE"], [new Float64Array([1.5])], 1);
 * ```
 */
export function appendColumns(
  appender: DuckDBAppender,
  types: readonly ColumnType[],
  columns: readonly ArrayLike<unknown>[],
  length: number,
): void {
  const { DuckDBDataChunk } = loadedApi();
  const duckdb = loadedBindings();
  const size = 2048;
  const chunk = DuckDBDataChunk.create(types.map((t) => loadedApi()[t]));
  // The binding copies bytes without a bound: a short column would copy whatever memory follows it.
  const short = columns.findIndex((values) => values.length < length);
  if (short >= 0) throw new RangeError(`Column ${short} holds ${columns[short].length} values, not ${length}`);
  const numeric = numericArrays();
  const own = types.map((t, c) => {
    const array = numeric.get(loadedApi()[t].typeId);
    return array !== undefined && ArrayBuffer.isView(columns[c]) && columns[c].constructor === array
      ? array
      : undefined;
  });
  for (let start = 0; start < length; start += size) {
    const n = Math.min(size, length - start);
    // Back to all-valid vectors: a null set in this chunk before must not stay.
    chunk.reset();
    chunk.rowCount = n;
    for (let c = 0; c < types.length; c++) {
      const array = own[c];
      const values = columns[c];
      if (array !== undefined) {
        const typed = values as unknown as TypedArray;
        const width = array.BYTES_PER_ELEMENT;
        const vector = duckdb.data_chunk_get_vector(chunk.chunk, c);
        duckdb.copy_data_to_vector(vector, 0, typed.buffer as ArrayBuffer, typed.byteOffset + start * width, n * width);
        continue;
      }
      if (types[c] === "VARCHAR" && everyString(values, start, n)) {
        // Text with no null (a kept id): each string straight into the chunk's vector, whose rows are all valid
        // after the reset; the vector object would first copy the chunk's string headers and its mask.
        const vector = duckdb.data_chunk_get_vector(chunk.chunk, c);
        for (let i = 0; i < n; i++) duckdb.vector_assign_string_element(vector, i, values[start + i] as string);
        continue;
      }
      const vector = chunk.getColumnVector(c) as unknown as RawVector;
      for (let i = 0; i < n; i++) vector.setItem(i, values[start + i] ?? null);
      vector.flush();
    }
    appender.appendDataChunk(chunk);
  }
}
