/**
 * Writes rows into a Postgres table with COPY, in one transaction that
 * `commit()` ends. The table is created when missing, with types that
 * follow the data. With `replace`, the transaction first deletes the rows
 * of the same slice (the same model version and window, and the same
 * shard), so a rerun replaces them: a job killed at any point leaves the
 * old rows or the new ones, never a mix, and never both.
 */
import { UsageError } from "../errors.ts";
import { log } from "../log.ts";
import {
  type ConnectOptions,
  type PgConnection,
  pgError,
  PgTransaction,
  pgTypeOf,
  quoteIdent,
  quoteTable,
  resolveTarget,
  type Shard,
  shardCondition,
  type Sql,
} from "../postgres/mod.ts";
import type { ColumnInfo, RowBatch, ValueType } from "../rows.ts";
import type { Sink } from "./sink.ts";

/** One `column = value` that picks a run's slice of the table. */
export interface SliceValue {
  name: string;
  type: ValueType;
  value: unknown;
}

/** Which rows a run replaces. */
export interface Replace {
  /** Rows where every column equals its value (a null value matches NULL). */
  match: SliceValue[];
  /** And whose key column hashes to this shard (the key must be an output column). */
  shard?: Shard;
  /** The key is not a column but a field of this JSON column (a rejects table's `data`). */
  shardKeyIn?: string;
}

/** Where to write. */
export interface PostgresSinkOptions {
  /** `postgres://...`; unset or `postgres:` means `DATABASE_URL` / `PG*`. */
  url?: string;
  /** A table (or `schema.table`); created when missing. */
  table: string;
  /** Without it rows are only appended. */
  replace?: Replace;
  connect?: ConnectOptions;
  /**
   * The transaction to write in, shared with other sinks (a job's rejects
   * table beside its predictions): the first `commit` makes all of them
   * visible at once. Without it the sink has a transaction of its own.
   */
  transaction?: PgTransaction;
  /** How errors name the settings that fix a mismatch (the caller's flags). */
  labels?: PostgresSinkLabels;
}

/** How errors name the settings of a Postgres sink. */
export interface PostgresSinkLabels {
  /** The setting that picks the output table. */
  table?: string;
  /** The setting that adds passed-through columns. */
  keep?: string;
}

/**
 * Creates a Postgres sink; nothing connects until `open`.
 *
 * @example
 * ```ts
 * const sink = createPostgresSink({
 *   url: "postgres://postgres@127.0.0.1:5432/test",
 *   table: "ride_predictions",
 *   replace: { match: [{ name: "model_version", type: "string", value: "1" }] },
 * });
 * ```
 */
export function createPostgresSink(options: PostgresSinkOptions): Sink {
  const table = quoteTable(options.table, "output table name");
  for (const m of options.replace?.match ?? []) quoteIdent(m.name, "column name");
  const tx = options.transaction ?? new PgTransaction(options.url, options.connect);
  let columns: ColumnInfo[] = [];
  let doing = "connecting";
  const fail = (err: unknown) => pgError(err, tx.target, doing);
  return {
    description: `${resolveTarget(options.url).description} table ${options.table}`,
    async open(cols: ColumnInfo[]) {
      const replace = options.replace;
      for (const c of cols) quoteIdent(c.name, "output column name");
      if (replace) {
        for (const m of replace.match) {
          if (!cols.some((c) => c.name === m.name)) {
            throw new UsageError(`Cannot replace by column "${m.name}": the output has no such column`);
          }
        }
        if (replace.shard && !replace.shardKeyIn && !cols.some((c) => c.name === replace.shard!.key)) {
          throw new UsageError(
            `The shard key "${replace.shard.key}" must be an output column (add it to ${
              options.labels?.keep ?? "the kept columns"
            }) so a rerun replaces only its shard`,
          );
        }
      }
      columns = cols;
      try {
        const conn = await tx.connection();
        doing = `creating table ${table}`;
        await ensureTable(conn, table, cols, replace);
        doing = `checking table ${table}`;
        await checkColumns(conn.sql, options.table, table, cols, options.labels?.table ?? "table");
        doing = `writing table ${table}`;
        await tx.begin();
        if (replace) {
          const values = replace.match.map((m) => textOf(m.value));
          const lockKey = JSON.stringify([
            table,
            values,
            replace.shard ? [replace.shard.index, replace.shard.count] : null,
          ]);
          // Two runs of the same slice at once would each delete, then both insert.
          await tx.execute("select pg_advisory_xact_lock(hashtextextended($1, 0))", [lockKey]);
          // `=` (and `is null` for a null value, known here) so the index on the slice
          // columns serves the delete; `is not distinct from` would scan the whole table.
          const params: (string | null)[] = [];
          let where = replace.match.map((m, i) => {
            const col = `t.${quoteIdent(m.name)}`;
            if (values[i] === null) return `${col} is null`;
            params.push(values[i]);
            return `${col} = $${params.length}::${pgTypeOf(cols.find((c) => c.name === m.name)!)}`;
          }).join(" and ") || "true";
          if (replace.shard) {
            let key: string | undefined;
            if (replace.shardKeyIn) {
              params.push(replace.shard.key);
              key = `t.${quoteIdent(replace.shardKeyIn)}->>$${params.length}`;
            }
            where += ` and ${shardCondition(replace.shard, "t", key)}`;
          }
          doing = `replacing earlier rows in ${table}`;
          const deleted = await tx.execute(`delete from ${table} as t where ${where}`, params) as { count?: number };
          log.info("deleted the earlier rows of this slice", { table: options.table, deleted: deleted.count ?? 0 });
        }
        doing = `writing table ${table}`;
      } catch (err) {
        const e = fail(err);
        await tx.rollback();
        throw e;
      }
    },
    async write(batch: RowBatch) {
      try {
        // One COPY for the whole run: Postgres ingests while the next batch is scored.
        await tx.write(options.table, columns, batch);
      } catch (err) {
        throw fail(err);
      }
    },
    async commit() {
      doing = `committing table ${table}`;
      try {
        await tx.commit();
      } catch (err) {
        throw fail(err);
      }
    },
    abort: () => tx.rollback(),
  };
}

function textOf(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

async function ensureTable(
  conn: PgConnection,
  table: string,
  cols: ColumnInfo[],
  replace?: Replace,
): Promise<void> {
  const defs = cols.map((c) => `${quoteIdent(c.name)} ${pgTypeOf(c)}`).join(", ");
  // Its own short transaction, serialised across jobs: N shards starting at
  // once would otherwise race on `create table if not exists`.
  await conn.transaction(async (run) => {
    await run("select pg_advisory_xact_lock(hashtextextended($1, 0))", [`score create ${table}`]);
    const [exists] = await run("select to_regclass($1) is not null as e", [table]);
    if (exists.e) return;
    await run(`create table ${table} (${defs})`);
    const keys = (replace?.match ?? []).map((m) => quoteIdent(m.name));
    if (keys.length > 0) await run(`create index on ${table} (${keys.join(", ")})`);
  });
}

async function checkColumns(sql: Sql, name: string, table: string, cols: ColumnInfo[], what: string): Promise<void> {
  const rows = await sql.unsafe(
    "select attname from pg_attribute where attrelid = $1::regclass and attnum > 0 and not attisdropped",
    [table],
  ) as unknown as { attname: string }[];
  const have = new Set(rows.map((r) => r.attname));
  const missing = cols.filter((c) => !have.has(c.name)).map((c) => `"${c.name}"`);
  if (missing.length > 0) {
    throw new UsageError(
      `Table ${JSON.stringify(name)} exists without ${missing.length === 1 ? "column" : "columns"} ${
        missing.join(", ")
      } ` +
        `(it has ${[...have].map((c) => `"${c}"`).join(", ")}): write to a new ${what} or add the columns`,
    );
  }
}
