/**
 * `deno task bench:postgres`: how close `score batch` Postgres -> Postgres
 * comes to its three ceilings on this machine, in one run.
 *
 * It loads 1M rides into Postgres (the course's 2021 green taxi rides,
 * repeated), then prints side by side:
 * - cursor read rows/s: our Postgres source reading the columns the job reads,
 * - COPY-in rows/s: our COPY helper writing prediction-shaped rows in one transaction,
 * - raw onnxruntime rows/s: onnxruntime-node on pre-built tensors (the linreg model, 10k-row runs),
 * - `./score batch` Postgres -> Postgres rows/s for 1M rides, the ratio to each
 *   ceiling, and peak RSS at 100k and 1M rows (flat means bounded memory).
 * Every bench table is dropped at the end.
 *
 * A benchmark, not a test: it asserts nothing and takes about a minute.
 */
import { connectPostgres } from "../src/postgres/mod.ts";
import { copyRows } from "../src/postgres/copy_rows.ts";
import type { ColumnInfo } from "../src/rows.ts";
import { openPostgresSource } from "../src/sources/postgres_source.ts";
import {
  BATCH,
  fmt,
  LINREG,
  loadRides,
  pct,
  rawOnnxruntime,
  RIDE_COLUMNS,
  rideBatch,
  type Rides,
  runScoreBatch,
} from "./rides.ts";

const PG_URL = Deno.env.get("SCORE_BENCH_DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/test";
const N = Number(Deno.env.get("SCORE_BENCH_ROWS") ?? 1_000_000);
const suffix = crypto.randomUUID().slice(0, 8);
const RIDES = `bench_rides_${suffix}`;
const PREDS = `bench_preds_${suffix}`;
const COPY_TABLE = `bench_copy_${suffix}`;

const db = await connectPostgres(PG_URL, { max: 2 });
try {
  const rides = await loadRides();
  console.log(`base rides: ${rides.n} rows from the 2021 green taxi files; building ${fmt(N)} in ${RIDES}`);
  await buildTable(rides);

  const read = await cursorRead();
  const copy = await copyIn();
  const raw = await rawOnnxruntime(rides, N);
  console.log(`raw onnxruntime: ${fmt(raw)} rows/s`);
  const small = await scoreBatch(Math.round(N / 10));
  const full = await scoreBatch(N);

  const ceilings: [string, number][] = [["cursor read", read], ["COPY in", copy], ["raw onnxruntime", raw]];
  const slowest = ceilings.reduce((a, b) => (b[1] < a[1] ? b : a));
  console.log(`\n| what (${fmt(N)} rides) | rows/s | score batch as % of it |`);
  console.log("| --- | ---: | ---: |");
  for (const [name, rps] of ceilings) console.log(`| ${name} | ${fmt(rps)} | ${pct(full.rowsPerSecond, rps)} |`);
  console.log(`| **score batch Postgres -> Postgres** (job) | **${fmt(full.rowsPerSecond)}** | |`);
  console.log(`| score batch, wall clock incl. start-up | ${fmt(full.wallRowsPerSecond)} | |`);
  console.log(
    `\nslowest ceiling: ${slowest[0]}; score batch reaches ${
      pct(full.rowsPerSecond, slowest[1])
    } of it (target >= 60%)`,
  );
  console.log(
    `peak RSS: ${small.peakRssMb.toFixed(0)} MB at ${fmt(small.rows)} rows, ${full.peakRssMb.toFixed(0)} MB at ${
      fmt(full.rows)
    } rows`,
  );
} finally {
  for (const t of [RIDES, PREDS, COPY_TABLE]) await db.sql.unsafe(`drop table if exists "${t}"`).catch(() => {});
  await db.close();
}

async function buildTable(rides: Rides) {
  const t = performance.now();
  await db.sql.unsafe(
    `create table "${RIDES}" (ride_id bigint, lpep_pickup_datetime timestamp, "PULocationID" bigint, "DOLocationID" bigint, trip_distance float8)`,
  );
  for (let start = 0; start < N; start += 100_000) {
    // ride ids from 1, so `ride_id <= $1` selects the first $1 rides
    await copyRows(db.sql, RIDES, RIDE_COLUMNS, rideBatch(rides, start, Math.min(100_000, N - start), 1));
  }
  await db.sql.unsafe(`vacuum analyze "${RIDES}"`);
  console.log(`loaded ${fmt(N)} rides in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

/** Our source, reading what the job reads (the model's inputs and the kept ride_id). */
async function cursorRead(): Promise<number> {
  const source = await openPostgresSource({ url: PG_URL, table: RIDES });
  const t = performance.now();
  let n = 0;
  for await (
    const b of source.batches({
      batchSize: BATCH,
      columns: ["PULocationID", "DOLocationID", "trip_distance", "ride_id"],
    })
  ) n += b.length;
  const seconds = (performance.now() - t) / 1000;
  await source.close();
  console.log(`cursor read: ${fmt(n)} rows in ${seconds.toFixed(2)} s`);
  return n / seconds;
}

/** Prediction-shaped rows (what `--keep ride_id` writes) copied in one transaction. */
async function copyIn(): Promise<number> {
  const columns: ColumnInfo[] = [
    { name: "ride_id", type: "int64" },
    { name: "duration", type: "float64" },
    { name: "model_name", type: "string" },
    { name: "model_version", type: "string" },
    { name: "scored_at", type: "timestamptz" },
  ];
  await db.sql.unsafe(
    `create table "${COPY_TABLE}" (ride_id bigint, duration float8, model_name text, model_version text, scored_at timestamptz)`,
  );
  const batches = [];
  const now = new Date();
  for (let start = 0; start < N; start += BATCH) {
    const len = Math.min(BATCH, N - start);
    batches.push({
      offset: start,
      length: len,
      columns: {
        ride_id: Array.from({ length: len }, (_, i) => BigInt(start + i)),
        duration: Float64Array.from({ length: len }, (_, i) => 10 + ((start + i) % 1000) / 7),
        model_name: new Array(len).fill("ride-duration-linreg"),
        model_version: new Array(len).fill("bench"),
        scored_at: new Array(len).fill(now),
      },
    });
  }
  const tx = await db.sql.reserve();
  const t = performance.now();
  await tx.unsafe("begin");
  for (const b of batches) await copyRows(tx as never, COPY_TABLE, columns, b);
  await tx.unsafe("commit");
  const seconds = (performance.now() - t) / 1000;
  tx.release();
  console.log(`COPY in: ${fmt(N)} rows in ${seconds.toFixed(2)} s`);
  return N / seconds;
}

async function scoreBatch(rows: number) {
  const run = await runScoreBatch([
    "--model",
    LINREG,
    "--input",
    PG_URL,
    "--query",
    `select * from "${RIDES}" where ride_id <= $1`,
    "--param",
    `rows=${rows}`,
    "--output",
    PG_URL,
    "--output-table",
    PREDS,
    "--replace",
    "version",
    "--keep",
    "ride_id",
  ]);
  console.log(
    `score batch: ${fmt(run.rows)} rows at ${fmt(run.rowsPerSecond)} rows/s (job), peak RSS ${
      run.peakRssMb.toFixed(0)
    } MB`,
  );
  return run;
}
