/**
 * Reads the rows of a query (or a table) from Postgres through a
 * server-side cursor, one batch at a time, so memory stays bounded at any
 * table size. Column types come from the query's description before any
 * row is read; each column keeps its Postgres type as `dbType`, so a
 * passed-through column is re-created with the same type in a Postgres sink.
 */
import { UsageError } from "../errors.ts";
import {
  type ConnectOptions,
  connectPostgres,
  type PgConnection,
  pgError,
  quoteIdent,
  quoteTable,
  type Shard,
  shardCondition,
  valueTypeOfOid,
} from "../postgres/mod.ts";
import { checkedCursor } from "../postgres/postgres_js_internals.ts";
import type { ColumnInfo, RowBatch } from "../rows.ts";
import type { ReadOptions, Source } from "./source.ts";

/** What to read. Exactly one of `query` and `table`. */
export interface PostgresSourceOptions {
  /** `postgres://...`; unset or `postgres:` means `DATABASE_URL` / `PG*`. */
  url?: string;
  /** SQL returning the rows; `$1, $2, ...` are `params` in order. */
  query?: string;
  /** A table (or `schema.table`) read whole, or by `timeColumn` in a window. */
  table?: string;
  /** With `table`: keep rows with `$1 <= timeColumn < $2`. */
  timeColumn?: string;
  /** Bound parameters, in `$n` order (text is cast by Postgres to the type it infers). */
  params?: unknown[];
  /** Only this shard of the rows, filtered in Postgres. */
  shard?: Shard;
  connect?: ConnectOptions;
  /** How errors name `query` and `table`, and where `params` come from (the caller's flags). */
  labels?: PostgresSourceLabels;
}

/** How errors name the settings of a Postgres source. */
export interface PostgresSourceLabels {
  query?: string;
  table?: string;
  /** Appended to a count mismatch: where the values of `$1, $2, ...` come from. */
  params?: string;
}

/**
 * Connects, describes the query (its columns, its parameters) and returns
 * a source; rows are read only when `batches` is iterated.
 *
 * @example
 * ```ts
 * const source = await openPostgresSource({
 *   url: "postgres://postgres@127.0.0.1:5432/test",
 *   query: "select * from rides where pickup >= $1 and pickup < $2",
 *   params: ["2021-02-01T00:00:00Z", "2021-03-01T00:00:00Z"],
 * });
 * ```
 */
export async function openPostgresSource(options: PostgresSourceOptions): Promise<Source> {
  const base = baseQuery(options);
  const params = options.params ?? [];
  const conn = await connectPostgres(options.url, { ...options.connect, max: 1 });
  const { sql, target } = conn;
  const what = options.table !== undefined ? `reading table ${quoteTable(options.table)}` : "describing the query";
  let columns: ColumnInfo[];
  try {
    const from = options.shard ? `select * from (${base}\n) q where ${shardCondition(options.shard, "q")}` : base;
    const statement = await conn.guard(sql.unsafe(from, params as never[]).describe()) as unknown as Description;
    if (statement.types.length > params.length) {
      throw new UsageError(
        `The query uses $${statement.types.length} but ${params.length} ${
          params.length === 1 ? "value is" : "values are"
        } given` + (options.labels?.params ? ` ${options.labels.params}` : ""),
      );
    }
    columns = await columnInfo(conn, statement.columns);
  } catch (err) {
    await conn.close(0).catch(() => {});
    throw pgError(err, target, what);
  }
  const dup = columns.find((c, i) => columns.findIndex((d) => d.name === c.name) !== i);
  if (dup) {
    await conn.close(0).catch(() => {});
    throw new UsageError(`The query returns column "${dup.name}" twice: give one an alias (… as other_name)`);
  }
  const description = `${target.description} ${options.table !== undefined ? `table ${options.table}` : "query"}` +
    (options.shard ? ` shard ${options.shard.index}/${options.shard.count}` : "");
  let done = 0;
  return {
    description,
    columns,
    async *batches({ batchSize, columns: wanted }: ReadOptions): AsyncGenerator<RowBatch> {
      const names = wanted ?? columns.map((c) => c.name);
      const list = names.map((n) => `q.${quoteIdent(n, "column name")}`).join(", ") || "1";
      const text = `select ${list} from (${base}\n) q` +
        (options.shard ? ` where ${shardCondition(options.shard, "q")}` : "");
      // The cursor ends only where the server says the rows end: a connection lost between two reads is
      // an error, never a short table.
      const cursor = checkedCursor<unknown[]>(sql.unsafe(text, params as never[]).values(), batchSize);
      let ended = false;
      try {
        // Each read is guarded too: a read in flight when the connection drops is not always failed by postgres.js.
        for (let next = await conn.guard(cursor.next()); !next.done; next = await conn.guard(cursor.next())) {
          const rows = next.value;
          const out: Record<string, unknown[]> = {};
          for (let c = 0; c < names.length; c++) {
            const col = new Array(rows.length);
            for (let r = 0; r < rows.length; r++) col[r] = rows[r][c];
            out[names[c]] = col;
          }
          const batch: RowBatch = { offset: done, length: rows.length, columns: out };
          done += rows.length;
          yield batch;
        }
        ended = true;
      } catch (err) {
        ended = true;
        throw pgError(err, target, "reading rows");
      } finally {
        // A reader that stops early closes the cursor, as `for await` would.
        if (!ended) await conn.guard(cursor.return!()).catch(() => {});
      }
    },
    // A source has nothing to finish: a read cut short (a failure, a signal) is dropped at once, not waited for.
    close: () => conn.close(0),
  };
}

interface Description {
  types: number[];
  columns: { name: string; type: number; table: number; number: number }[];
}

function baseQuery(o: PostgresSourceOptions): string {
  if ((o.query === undefined) === (o.table === undefined)) {
    const l = o.labels;
    throw new UsageError(
      `A Postgres input needs exactly one of ${l?.query ?? "query"} SQL and ${l?.table ?? "table"} NAME`,
    );
  }
  if (o.table !== undefined) {
    const where = o.timeColumn
      ? ` where ${quoteIdent(o.timeColumn, "time column")} >= $1 and ${quoteIdent(o.timeColumn, "time column")} < $2`
      : "";
    return `select * from ${quoteTable(o.table)}${where}`;
  }
  // A trailing `;` would end the statement inside our wrapping select.
  const q = o.query!.trim().replace(/;+\s*$/, "");
  if (q === "") throw new UsageError(`${o.labels?.query ?? "query"} is empty`);
  return q;
}

// The exact types (with length/precision) of columns that come straight
// from a table; computed columns get their type's plain name.
async function columnInfo(conn: PgConnection, cols: Description["columns"]): Promise<ColumnInfo[]> {
  if (cols.length === 0) return [];
  const rows = await conn.sql.unsafe(
    `select x.i, coalesce(format_type(a.atttypid, a.atttypmod), format_type(x.typ, null)) as db_type, t.typcategory = 'A' as is_array
       from unnest($1::text::oid[], $2::text::oid[], $3::text::int2[]) with ordinality as x(typ, tab, num, i)
       join pg_type t on t.oid = x.typ
       left join pg_attribute a on a.attrelid = x.tab and a.attnum = x.num and a.atttypid = x.typ
      order by x.i`,
    [`{${cols.map((c) => c.type)}}`, `{${cols.map((c) => c.table)}}`, `{${cols.map((c) => c.number)}}`],
  ) as unknown as { db_type: string; is_array: boolean }[];
  return cols.map((c, i) => ({
    name: c.name,
    type: valueTypeOfOid(c.type, rows[i].is_array),
    dbType: rows[i].db_type,
  }));
}
