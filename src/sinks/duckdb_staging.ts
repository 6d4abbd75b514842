/**
 * Rows staged in an embedded DuckDB table and written out at commit by
 * DuckDB's own (parallel) file writer: `COPY (select ...) TO file`.
 *
 * Appending typed arrays costs a copy; a string column that holds the same
 * value on every row so far (the model name, its version) is not stored at
 * all but written as a constant, until a row differs. The table lives in
 * the job's thread's shared DuckDB: in memory up to its limit, spilled to
 * its folder beyond, so memory stays bounded whatever the input; it goes
 * with the database's last connection. The folder is named after its
 * process; a run removes those of processes that are gone (killed with -9).
 */
import type { DuckDBAppender } from "@duckdb/node-api";
import type { ColumnInfo, RowBatch, ValueType } from "../rows.ts";
import { appendColumns, busy, type ColumnType, openDuckDB, sqlName, sqlString } from "../duckdb/mod.ts";
import { epochMicros } from "../timestamps.ts";
import { jsonText } from "../value_codec.ts";

/** Staging tables made by this process so far, for a name of each its own in the shared database. */
let tables = 0;

/** An open staging table. */
export interface Staging {
  write(batch: RowBatch): Promise<void>;
  /** Writes every staged row, in order, to `path` with `COPY (...) TO path (options)`. */
  copyTo(path: string, options: string): Promise<void>;
  /** Closes its connection to the database (the last one closes the database and removes its spill folder). */
  close(): Promise<void>;
}

/** How a value type is staged (the table's type, the value a row holds) and read back for the file. */
interface Staged {
  type: ColumnType;
  value: (v: unknown) => unknown;
  select: (name: string) => string;
}

/** Stands for "no row yet" in a text column's constant. */
const NO_ROW = Symbol("no row");

/**
 * Opens a staging table for rows of `columns`.
 *
 * @example
 * ```ts
 * const staging = await openStaging([{ name: "x", type: "float64" }]);
 * await staging.write({ offset: 0, length: 1, columns: { x: new Float64Array([1.5]) } });
 * await staging.copyTo("out.parquet", "format parquet");
 * await staging.close();
 * ```
 */
export async function openStaging(columns: ColumnInfo[]): Promise<Staging> {
  const db = await openDuckDB();
  // The database is shared (the reader's, another staging's): a table of its own.
  const tableName = `staged_${++tables}`;
  const name = sqlName(tableName);
  const staged = columns.map((c) => stagedAs(c.type));
  // A text column's value on every row so far, until one differs; then it is stored (in `table`).
  const constant = new Map<number, string | null | typeof NO_ROW>();
  // The table's columns, in order: indices into `columns` (-1: a placeholder when every column is a constant).
  const table: number[] = [];
  columns.forEach((c, i) => (isText(c.type) ? constant.set(i, NO_ROW) : table.push(i)));
  if (table.length === 0) table.push(-1);
  const columnName = (i: number) => sqlName(i < 0 ? "placeholder" : `c${i}`);
  const typeOf = (i: number): ColumnType => (i < 0 ? "BOOLEAN" : staged[i].type);
  let rows = 0;
  let appender: DuckDBAppender | undefined;
  const reopen = async () => {
    appender?.closeSync();
    appender = await busy(db.connection, () => db.connection.createAppender(tableName));
  };

  try {
    await db.connection.run(
      `create table ${name} (${table.map((i) => `${columnName(i)} ${typeOf(i)}`)})`,
    );
    await reopen();
  } catch (err) {
    await db.close();
    throw err;
  }

  /** Turns a constant column into a stored one: the rows staged so far get the constant. */
  const store = async (i: number) => {
    const value = constant.get(i);
    constant.delete(i);
    appender!.closeSync();
    appender = undefined;
    const fill = value === undefined || value === NO_ROW
      ? ""
      : ` default ${value === null ? "null" : sqlString(value)}`;
    await busy(
      db.connection,
      () => db.connection.run(`alter table ${name} add column ${columnName(i)} VARCHAR${fill}`),
    );
    table.push(i);
    await reopen();
  };

  return {
    async write(batch) {
      if (batch.length === 0) return;
      for (const [i, value] of [...constant]) {
        const values = batch.columns[columns[i].name];
        const first = value === NO_ROW ? staged[i].value(values[0]) as string | null : value;
        if (sameText(values, first, staged[i].value)) constant.set(i, first);
        else await store(i);
      }
      const data = table.map((i) =>
        i < 0 ? new Array(batch.length).fill(null) : fitted(batch.columns[columns[i].name], staged[i])
      );
      appendColumns(appender!, table.map(typeOf), data, batch.length);
      rows += batch.length;
    },
    async copyTo(path, options) {
      appender!.flushSync();
      const select = columns.map((c, i) => {
        const value = constant.get(i);
        const expr = value === undefined
          ? staged[i].select(columnName(i))
          : value === null || value === NO_ROW
          ? "null::VARCHAR"
          // An ENUM of one value is written as the same text column (dictionary-encoded), far cheaper than a VARCHAR.
          : `${sqlString(value)}::ENUM(${sqlString(value)})`;
        return `${expr} as ${sqlName(c.name)}`;
      }).join(", ");
      // The job has read and scored every row by now: its file is written with every core (the shared database
      // keeps one for the job's JavaScript), then the setting goes back for the next window's rows. One piece of
      // work: closing the database waits for all of it.
      const { connection } = db;
      await busy(connection, async () => {
        const before = Number((await connection.runAndReadAll("select current_setting('threads')")).getRows()[0][0]);
        await connection.run(`set threads = ${Math.max(before, navigator.hardwareConcurrency ?? 1)}`);
        try {
          await connection.run(`copy (select ${select} from ${name}) to ${sqlString(path)} (${options})`);
        } finally {
          await connection.run(`set threads = ${before}`).catch(() => {});
        }
      });
    },
    async close() {
      try {
        appender?.closeSync();
      } catch {
        // A failed append leaves nothing worth flushing.
      }
      await db.close();
    },
  };
}

/** Whether every value of a text column is `text` (as staged). */
function sameText(values: ArrayLike<unknown>, text: string | null, value: (v: unknown) => unknown): boolean {
  for (let r = 0; r < values.length; r++) {
    const v = values[r];
    if (v === text) continue;
    if (typeof v !== "string" && value(v) === text) continue;
    return false;
  }
  return true;
}

/** A typed array goes in as it is when it is the vector's own element type; anything else value by value. */
function fitted(values: ArrayLike<unknown>, staged: Staged): ArrayLike<unknown> {
  if (ArrayBuffer.isView(values) && values.constructor === OWN_ARRAY.get(staged.type)) return values;
  return Array.from(values, (v) => staged.value(v));
}

const OWN_ARRAY = new Map<ColumnType, unknown>([
  ["DOUBLE", Float64Array],
  ["FLOAT", Float32Array],
  ["BIGINT", BigInt64Array],
  ["INTEGER", Int32Array],
]);

function isText(type: ValueType): boolean {
  return type === "string" || type === "json";
}

function stagedAs(type: ValueType): Staged {
  const orNull = (f: (v: unknown) => unknown) => (v: unknown) => (v === null || v === undefined ? null : f(v));
  const same = (name: string) => name;
  switch (type) {
    case "float64":
      return { type: "DOUBLE", value: orNull(Number), select: same };
    case "float32":
      return { type: "FLOAT", value: orNull(Number), select: same };
    case "int64":
      return {
        type: "BIGINT",
        value: orNull((v) => (typeof v === "bigint" ? v : BigInt(v as number))),
        select: same,
      };
    case "uint64":
      // Past 2^63 a uint64 is no BIGINT: staged as its digits, written as the UBIGINT it was.
      return { type: "VARCHAR", value: orNull((v) => String(v)), select: (n) => `${n}::UBIGINT` };
    case "int8":
    case "int16":
    case "int32":
    case "uint8":
    case "uint16":
      return { type: "INTEGER", value: orNull(Number), select: same };
    case "uint32":
      return { type: "BIGINT", value: orNull((v) => BigInt(v as number)), select: same };
    case "bool":
      return {
        type: "BOOLEAN",
        value: orNull((v) => (typeof v === "string" ? v === "true" : Boolean(v))),
        select: same,
      };
    case "timestamp":
    case "timestamptz":
      return {
        type: "BIGINT",
        value: orNull((v) => epochMicros(v)),
        select: (n) => type === "timestamp" ? `make_timestamp(${n})` : `make_timestamp(${n})::TIMESTAMPTZ`,
      };
    case "date":
      return {
        type: "INTEGER",
        // No day for what is no instant (Postgres's infinity, a date before year 1 carried as text): null.
        value: orNull((v) => {
          const day = Math.floor(epochMs(v) / 86_400_000);
          return Number.isFinite(day) ? day : null;
        }),
        select: (n) => `(DATE '1970-01-01' + ${n})`,
      };
    case "string":
      return {
        type: "VARCHAR",
        value: orNull((v) => (typeof v === "string" ? v : v instanceof Date ? v.toISOString() : String(v))),
        select: same,
      };
    case "json":
      return {
        type: "VARCHAR",
        value: orNull((v) => (typeof v === "string" ? v : jsonText(v))),
        select: same,
      };
  }
}

function epochMs(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "number") return v;
  return new Date(String(v)).getTime();
}
