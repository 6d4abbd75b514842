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
import * as ort from "onnxruntime-node";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connectPostgres } from "../src/postgres/connect.ts";
import { copyRows } from "../src/postgres/copy_rows.ts";
import type { ColumnInfo } from "../src/rows.ts";
import { openParquetSource } from "../src/sources/parquet_source.ts";
import { openPostgresSource } from "../src/sources/postgres_source.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DATA = Deno.env.get("SCORE_SHARED_DATA") ?? join(ROOT, "..", "shared", "data");
const MODEL = join(ROOT, "models", "ride-duration-linreg");
const PG_URL = Deno.env.get("SCORE_BENCH_DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/test";
const N = Number(Deno.env.get("SCORE_BENCH_ROWS") ?? 1_000_000);
const BATCH = 10_000;
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
  const raw = await rawOnnxruntime(rides);
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

async function loadRides() {
  const pu: bigint[] = [], dO: bigint[] = [], dist: number[] = [], pickup: Date[] = [];
  for (const month of ["01", "02", "03"]) {
    const source = await openParquetSource(join(DATA, "taxi", `green_tripdata_2021-${month}.parquet`));
    for await (
      const b of source.batches({
        batchSize: 100_000,
        columns: ["lpep_pickup_datetime", "PULocationID", "DOLocationID", "trip_distance"],
      })
    ) {
      for (let i = 0; i < b.length; i++) {
        if (b.columns.PULocationID[i] == null || b.columns.DOLocationID[i] == null) continue;
        pu.push(b.columns.PULocationID[i] as bigint);
        dO.push(b.columns.DOLocationID[i] as bigint);
        dist.push(b.columns.trip_distance[i] as number);
        pickup.push(b.columns.lpep_pickup_datetime[i] as Date);
      }
    }
  }
  return { n: pu.length, pu, dO, dist, pickup };
}

type Rides = Awaited<ReturnType<typeof loadRides>>;

async function buildTable(rides: Rides) {
  const t = performance.now();
  await db.sql.unsafe(
    `create table "${RIDES}" (ride_id bigint, lpep_pickup_datetime timestamp, "PULocationID" bigint, "DOLocationID" bigint, trip_distance float8)`,
  );
  const columns: ColumnInfo[] = [
    { name: "ride_id", type: "int64" },
    { name: "lpep_pickup_datetime", type: "timestamp" },
    { name: "PULocationID", type: "int64" },
    { name: "DOLocationID", type: "int64" },
    { name: "trip_distance", type: "float64" },
  ];
  for (let start = 0; start < N; start += 100_000) {
    const len = Math.min(100_000, N - start);
    const at = (i: number) => (start + i) % rides.n;
    await copyRows(db.sql, RIDES, columns, {
      offset: start,
      length: len,
      columns: {
        ride_id: Array.from({ length: len }, (_, i) => start + i + 1),
        lpep_pickup_datetime: Array.from({ length: len }, (_, i) => rides.pickup[at(i)]),
        PULocationID: Array.from({ length: len }, (_, i) => rides.pu[at(i)]),
        DOLocationID: Array.from({ length: len }, (_, i) => rides.dO[at(i)]),
        trip_distance: Array.from({ length: len }, (_, i) => rides.dist[at(i)]),
      },
    });
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

async function rawOnnxruntime(rides: Rides): Promise<number> {
  const session = await ort.InferenceSession.create(join(MODEL, "model.onnx"));
  const feeds: Record<string, ort.Tensor>[] = [];
  for (let start = 0; start < N; start += BATCH) {
    const len = Math.min(BATCH, N - start);
    const at = (i: number) => (start + i) % rides.n;
    feeds.push({
      PULocationID: new ort.Tensor("int64", BigInt64Array.from({ length: len }, (_, i) => rides.pu[at(i)]), [len]),
      DOLocationID: new ort.Tensor("int64", BigInt64Array.from({ length: len }, (_, i) => rides.dO[at(i)]), [len]),
      trip_distance: new ort.Tensor("float64", Float64Array.from({ length: len }, (_, i) => rides.dist[at(i)] ?? NaN), [
        len,
      ]),
    });
  }
  await session.run(feeds[0]); // warm-up
  const t = performance.now();
  for (const f of feeds) await session.run(f);
  const seconds = (performance.now() - t) / 1000;
  await session.release();
  console.log(`raw onnxruntime: ${fmt(N)} rows in ${seconds.toFixed(2)} s`);
  return N / seconds;
}

async function scoreBatch(rows: number) {
  const started = performance.now();
  const out = await new Deno.Command("/usr/bin/time", {
    args: [
      "-f",
      "%M",
      join(ROOT, "score"),
      "batch",
      "--model",
      MODEL,
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
      "--keep",
      "ride_id",
      "--no-progress",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const wall = (performance.now() - started) / 1000;
  const stderr = new TextDecoder().decode(out.stderr);
  if (out.code !== 0) throw new Error(`score batch failed: ${stderr}`);
  const done = stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).find((l) =>
    l.msg === "batch done"
  );
  const peakKb = Number(stderr.trim().split("\n").at(-1));
  console.log(
    `score batch: ${fmt(done.read)} rows in ${done.seconds} s (job), ${wall.toFixed(2)} s (wall), peak RSS ${
      (peakKb / 1024).toFixed(0)
    } MB`,
  );
  return {
    rows: done.read as number,
    rowsPerSecond: done.rows_per_s as number,
    wallRowsPerSecond: done.read / wall,
    peakRssMb: peakKb / 1024,
  };
}

function fmt(n: number) {
  return Math.round(n).toLocaleString("en-US");
}

function pct(a: number, b: number) {
  return `${Math.round((100 * a) / b)}%`;
}
