/**
 * What the Postgres tests share: the real test database, a connection per
 * test with random table names, and the real rides loaded into a table with their file row numbers.
 */
import { join } from "node:path";
import { connectPostgres, type PgConnection } from "../../src/postgres/connect.ts";
export type { Sql } from "../../src/postgres/connect.ts";
import type { RowBatch } from "../../src/rows.ts";
import { createPostgresSink } from "../../src/sinks/postgres_sink.ts";
import { openSource } from "../../src/sources/open_source.ts";
import { DATA, FIXTURES, randomName } from "../helpers.ts";

/** The test database (trust auth on 127.0.0.1). */
export const PG_URL = Deno.env.get("SCORE_TEST_DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/test";

/**
 * Runs `fn` with its own connection to the test database and a random
 * table name per prefix; the connection is closed and the tables dropped
 * after, whatever happens.
 *
 * @example
 * ```ts
 * await withDb(["rides", "preds"], async ({ sql }, [rides, preds]) => { await sql`select 1`; });
 * ```
 */
export async function withDb<T>(
  prefixes: string[],
  fn: (conn: PgConnection, tables: string[]) => Promise<T>,
): Promise<T> {
  const tables = prefixes.map(randomName);
  const conn = await connectPostgres(PG_URL, { max: 2, retries: 0 });
  try {
    return await fn(conn, tables);
  } finally {
    for (const t of tables) await conn.sql.unsafe(`drop table if exists "${t}"`).catch(() => {});
    await conn.close();
  }
}

/** Where the rides come from: the shipped February Parquet. */
export const RIDES_FILE = ridesFile("2021-02");

/** The shipped green taxi file of a month ("2021-01"). */
export function ridesFile(month: string): string {
  return join(DATA, `green_tripdata_${month}.parquet`);
}

/**
 * Loads a rides file into `table`, adding `ride_row` (0-based row of the
 * file) and `ride_id` ("<file tag>-<row>"), through the real Parquet/CSV
 * source and the Postgres sink. Returns the number of rows.
 */
export async function loadRides(table: string, file = RIDES_FILE, tag = "r"): Promise<number> {
  const source = await openSource(file);
  const wanted = ["lpep_pickup_datetime", "lpep_dropoff_datetime", "PULocationID", "DOLocationID", "trip_distance"];
  // The small CSV keeps the Parquet file's row numbers in "row".
  const hasRow = source.columns.some((c) => c.name === "row");
  const columns = [
    { name: "ride_row", type: "int64" as const },
    { name: "ride_id", type: "string" as const },
    ...wanted.map((n) => source.columns.find((c) => c.name === n)!),
  ];
  // The small CSV's columns are text: give them the Parquet file's types.
  for (const c of columns) {
    if (c.name.endsWith("datetime")) c.type = "timestamp";
    if (c.name.endsWith("LocationID")) c.type = "int64";
    if (c.name === "trip_distance") c.type = "float64";
  }
  const sink = createPostgresSink({ url: PG_URL, table });
  await sink.open(columns);
  let n = 0;
  try {
    for await (const b of source.batches({ batchSize: 20_000, columns: hasRow ? [...wanted, "row"] : wanted })) {
      const rows = hasRow
        ? Array.from(b.columns.row, Number)
        : Array.from({ length: b.length }, (_, i) => b.offset + i);
      const batch: RowBatch = {
        offset: b.offset,
        length: b.length,
        columns: {
          ...b.columns,
          PULocationID: Array.from(b.columns.PULocationID, (v) => BigInt(v as number)),
          DOLocationID: Array.from(b.columns.DOLocationID, (v) => BigInt(v as number)),
          trip_distance: Array.from(b.columns.trip_distance, Number),
          ride_row: rows.map(BigInt),
          ride_id: rows.map((r) => `${tag}-${r}`),
          lpep_pickup_datetime: Array.from(b.columns.lpep_pickup_datetime, asDate),
          lpep_dropoff_datetime: Array.from(b.columns.lpep_dropoff_datetime, asDate),
        },
      };
      await sink.write(batch);
      n += b.length;
    }
    await sink.commit();
  } catch (err) {
    await sink.abort();
    throw err;
  } finally {
    await source.close();
  }
  return n;
}

function asDate(v: unknown): unknown {
  return typeof v === "string" ? new Date(v.endsWith("Z") ? v : v + "Z") : v;
}

/** The golden linreg predictions by file row (the rides with a 1..60 minute duration). */
export async function goldenDurations(): Promise<Map<number, number>> {
  const text = await Deno.readTextFile(join(FIXTURES, "golden", "ride-duration-linreg.green_2021-02.csv"));
  const out = new Map<number, number>();
  for (const line of text.trim().split("\n").slice(1)) {
    const f = line.split(",");
    out.set(Number(f[0]), Number(f[4]));
  }
  return out;
}

/** The query the course's batch job scores: a window of pickups, rides of 1 to 60 minutes. */
export function monthQuery(table: string): string {
  return `select * from "${table}"
    where lpep_pickup_datetime >= $1 and lpep_pickup_datetime < $2
      and lpep_dropoff_datetime - lpep_pickup_datetime between interval '1 minute' and interval '60 minutes'`;
}
