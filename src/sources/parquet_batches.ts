/**
 * A Parquet file as DuckDB reads it, in the reader's worker
 * (`reader_worker.ts`): its footer, its rows as batches, and how each
 * DuckDB type is selected and then made a source's values.
 */
import { InputError } from "../errors.ts";
import type { ValueType } from "../rows.ts";
import { timestampOf } from "../timestamps.ts";
import { parseJson } from "../value_codec.ts";
import { busy, describe, type DuckDB, sqlName, sqlString } from "../duckdb/mod.ts";
import { type ColumnBatch, duckdbBatches } from "./duckdb_batches.ts";

/** A Parquet file's columns (DuckDB's types, as DuckDB spells them) and rows, from its footer. */
export interface ParquetFile {
  columns: { name: string; type: string }[];
  total: number;
}

/**
 * Reads a Parquet file's footer (run by `reader_worker.ts`).
 *
 * @example
 * ```ts
 * await describeParquet(db, "rides.parquet"); // { columns: [{ name: "trip_distance", type: "DOUBLE" }, ...], total: 76518 }
 * ```
 */
export async function describeParquet(db: DuckDB, path: string): Promise<ParquetFile> {
  try {
    const columns = await describe(db.connection, `select * from read_parquet(${sqlString(path)})`);
    const count = await db.connection.runAndReadAll(
      `select sum(num_rows)::BIGINT as n from parquet_file_metadata(${sqlString(path)})`,
    );
    return { columns, total: Number(count.getRowObjectsJS()[0].n) };
  } catch (err) {
    throw new InputError(`Cannot read Parquet file ${path}: ${firstLine(err)}`, { cause: err });
  }
}

/** A Parquet file for DuckDB to read (see {@linkcode parquetBatches}): the columns to read, with their DuckDB types. */
export interface ParquetRead {
  kind: "parquet";
  path: string;
  columns: { name: string; type: string }[];
  /** Rows the file's footer counts: a read that gives fewer fails. */
  total: number;
  batchSize: number;
}

/**
 * A Parquet file's rows as DuckDB reads them, text as bytes, dates and JSON as numbers and text (run by
 * `reader_worker.ts`; the Parquet source converts them).
 *
 * @example
 * ```ts
 * const read: ParquetRead = { kind: "parquet", path: "rides.parquet", columns: [{ name: "trip_distance", type: "DOUBLE" }], total: 3, batchSize: 10_000 };
 * for await (const batch of parquetBatches(db, read)) batch.columns.trip_distance;
 * ```
 */
export async function* parquetBatches(db: DuckDB, read: ParquetRead): AsyncGenerator<ColumnBatch> {
  const { path, total, batchSize } = read;
  const select = read.columns.map((c) => `${readingOf(c.type).sql(sqlName(c.name))} as ${sqlName(c.name)}`).join(", ");
  const sql = `select ${select} from read_parquet(${sqlString(path)})`;
  const check = async (rows: number) => {
    if (rows === total) return;
    // The stream hid why it stopped: the same query, run whole, tells.
    await busy(db.connection, () => db.connection.run(`select count(*) from (${sql})`));
    throw new InputError(`Cannot read Parquet file ${path}: it ended after ${rows} of its ${total} rows`);
  };
  try {
    yield* duckdbBatches(db.connection, sql, read.columns.map((c) => c.name), batchSize, { check, textBytes: true });
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`Cannot read Parquet file ${path}: ${firstLine(err)}`, { cause: err });
  }
}

/** How a column of a DuckDB type is read: its value type, the SQL that selects it, and the conversion after. */
export interface Reading {
  type: ValueType;
  sql: (name: string) => string;
  /** Makes the source's values of what DuckDB gives (dates of epoch milliseconds, ...). */
  convert?: (values: ArrayLike<unknown>) => ArrayLike<unknown>;
}

const AS_IS = (name: string) => name;
const EPOCH_US = (name: string) => `epoch_us(${name})`;

const DIRECT: Record<string, ValueType> = {
  DOUBLE: "float64",
  FLOAT: "float32",
  BIGINT: "int64",
  INTEGER: "int32",
  SMALLINT: "int16",
  TINYINT: "int8",
  UBIGINT: "uint64",
  UINTEGER: "uint32",
  USMALLINT: "uint16",
  UTINYINT: "uint8",
  BOOLEAN: "bool",
  VARCHAR: "string",
};

/**
 * How a column of DuckDB type `duckType` is read (here, in SQL) and made a source's values (by the Parquet source).
 *
 * @example
 * ```ts
 * readingOf("DATE").type; // "date"
 * ```
 */
export function readingOf(duckType: string): Reading {
  const t = duckType.toUpperCase();
  if (t in DIRECT) return { type: DIRECT[t], sql: AS_IS };
  if (t.startsWith("DECIMAL")) {
    // Up to 15 digits a double holds every value exactly (it prints back the same number); more would be rounded,
    // so they come as their exact text, as Postgres numerics do (a model reading one parses it).
    const digits = Number(/^DECIMAL\((\d+)/.exec(t)?.[1] ?? 18);
    return digits <= 15
      ? { type: "float64", sql: (n) => `${n}::DOUBLE` }
      : { type: "string", sql: (n) => `${n}::VARCHAR` };
  }
  if (t === "DATE") return { type: "date", sql: (n) => `epoch_ms(${n}::TIMESTAMP)`, convert: toDates };
  // Microseconds, which a Date does not hold: a timestamp finer than a millisecond comes as its text (timestamps.ts).
  if (t === "TIMESTAMP WITH TIME ZONE") return { type: "timestamptz", sql: EPOCH_US, convert: toTimestamps(true) };
  if (t.startsWith("TIMESTAMP")) return { type: "timestamp", sql: EPOCH_US, convert: toTimestamps(false) };
  if (t.endsWith("[]") || t.startsWith("STRUCT") || t.startsWith("MAP") || t.startsWith("UNION")) {
    return { type: "json", sql: (n) => `to_json(${n})::VARCHAR`, convert: fromJson };
  }
  return { type: "string", sql: (n) => `${n}::VARCHAR` };
}

function toTimestamps(zoned: boolean): (values: ArrayLike<unknown>) => (Date | string)[] {
  return (values) =>
    Array.from(values, (v) => (v === null ? null : timestampOf(v as bigint | number, zoned)) as Date | string);
}

function toDates(values: ArrayLike<unknown>): Date[] {
  return Array.from(values, (v) => (v === null ? null : new Date(Number(v))) as Date);
}

function fromJson(values: ArrayLike<unknown>): unknown[] {
  // parseJson: a nested BIGINT beyond 2^53 stays exact (value_codec.ts).
  return Array.from(values, (v) => (typeof v === "string" ? parseJson(v) : v));
}

function firstLine(err: unknown): string {
  return String((err as Error).message ?? err).split("\n")[0];
}
