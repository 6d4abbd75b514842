/**
 * `deno task bench:batch`: how close `score batch` comes to raw onnxruntime
 * on this machine, in one run.
 *
 * It builds ride files of 1M and 5M rows from the course's 2021 green taxi
 * Parquet files (repeated), then prints side by side:
 * - raw onnxruntime rows/s on pre-built tensors (the linreg model, 10k-row runs),
 * - `./score batch` CSV -> CSV and Parquet -> Parquet rows/s (1M rows),
 * - the ratios, and peak RSS at 1M and 5M rows (Parquet -> Parquet).
 *
 * A benchmark, not a test: it asserts nothing and takes a minute or two.
 */
import * as ort from "onnxruntime-node";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openParquetSource } from "../src/sources/parquet_source.ts";
import { createSink } from "../src/sinks/create_sink.ts";
import type { ColumnInfo } from "../src/rows.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OUT = join(ROOT, "bench", "out");
const DATA = Deno.env.get("SCORE_SHARED_DATA") ?? join(ROOT, "..", "shared", "data");
const MODEL = join(ROOT, "models", "ride-duration-linreg");
const BATCH = 10_000;

await Deno.mkdir(OUT, { recursive: true });
const rides = await loadRides();
console.log(`base rides: ${rides.n} rows from the 2021 green taxi files`);

const files: Record<string, string> = {};
for (const [label, n, formats] of [["1m", 1_000_000, ["csv", "parquet"]], ["5m", 5_000_000, ["parquet"]]] as const) {
  for (const format of formats) {
    const path = join(OUT, `rides_${label}.${format}`);
    files[`${label}.${format}`] = path;
    if (await exists(path)) continue;
    const t = performance.now();
    await writeRides(path, n);
    console.log(`wrote ${path} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
}

const raw = await rawOnnxruntime(1_000_000);
console.log(`\nraw onnxruntime (pre-built tensors, ${BATCH}-row runs): ${fmt(raw)} rows/s`);

const results: [string, number, number, number][] = [];
for (const [name, input, output] of [
  ["CSV -> CSV, 1M", files["1m.csv"], join(OUT, "pred_1m.csv")],
  ["Parquet -> Parquet, 1M", files["1m.parquet"], join(OUT, "pred_1m.parquet")],
  ["Parquet -> Parquet, 5M", files["5m.parquet"], join(OUT, "pred_5m.parquet")],
] as const) {
  const r = await scoreBatch(input, output);
  results.push([name, r.rowsPerSecond, r.wallRowsPerSecond, r.peakRssMb]);
}

console.log("\n| run | rows/s (job) | rows/s (wall, incl. start-up) | vs raw onnxruntime | peak RSS |");
console.log("| --- | ---: | ---: | ---: | ---: |");
console.log(`| raw onnxruntime, 1M | ${fmt(raw)} | | 100% | |`);
for (const [name, rps, wall, rss] of results) {
  console.log(`| score batch ${name} | ${fmt(rps)} | ${fmt(wall)} | ${Math.round((100 * rps) / raw)}% | ${rss.toFixed(0)} MB |`);
}

async function loadRides() {
  const pu: bigint[] = [], dO: bigint[] = [], dist: number[] = [], pickup: Date[] = [];
  for (const month of ["01", "02", "03"]) {
    const source = await openParquetSource(join(DATA, "taxi", `green_tripdata_2021-${month}.parquet`));
    for await (const b of source.batches({ batchSize: 100_000, columns: ["lpep_pickup_datetime", "PULocationID", "DOLocationID", "trip_distance"] })) {
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

async function writeRides(path: string, n: number) {
  const columns: ColumnInfo[] = [
    { name: "ride_id", type: "int64" },
    { name: "lpep_pickup_datetime", type: "timestamp" },
    { name: "PULocationID", type: "int64" },
    { name: "DOLocationID", type: "int64" },
    { name: "trip_distance", type: "float64" },
  ];
  const sink = createSink(path);
  await sink.open(columns);
  const chunk = 100_000;
  for (let start = 0; start < n; start += chunk) {
    const len = Math.min(chunk, n - start);
    const at = (i: number) => (start + i) % rides.n;
    await sink.write({
      offset: start,
      length: len,
      columns: {
        ride_id: Array.from({ length: len }, (_, i) => BigInt(start + i)),
        lpep_pickup_datetime: Array.from({ length: len }, (_, i) => rides.pickup[at(i)]),
        PULocationID: Array.from({ length: len }, (_, i) => rides.pu[at(i)]),
        DOLocationID: Array.from({ length: len }, (_, i) => rides.dO[at(i)]),
        trip_distance: Array.from({ length: len }, (_, i) => rides.dist[at(i)]),
      },
    });
  }
  await sink.commit();
}

async function rawOnnxruntime(n: number): Promise<number> {
  const session = await ort.InferenceSession.create(join(MODEL, "model.onnx"));
  const feeds: Record<string, ort.Tensor>[] = [];
  for (let start = 0; start < n; start += BATCH) {
    const len = Math.min(BATCH, n - start);
    const at = (i: number) => (start + i) % rides.n;
    feeds.push({
      PULocationID: new ort.Tensor("int64", BigInt64Array.from({ length: len }, (_, i) => rides.pu[at(i)]), [len]),
      DOLocationID: new ort.Tensor("int64", BigInt64Array.from({ length: len }, (_, i) => rides.dO[at(i)]), [len]),
      trip_distance: new ort.Tensor("float64", Float64Array.from({ length: len }, (_, i) => rides.dist[at(i)] ?? NaN), [len]),
    });
  }
  await session.run(feeds[0]); // warm-up
  const t = performance.now();
  for (const f of feeds) await session.run(f);
  const seconds = (performance.now() - t) / 1000;
  await session.release();
  return n / seconds;
}

async function scoreBatch(input: string, output: string) {
  const started = performance.now();
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "%M", join(ROOT, "score"), "batch", "--model", MODEL, "--input", input, "--output", output, "--keep", "ride_id", "--no-progress"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const wall = (performance.now() - started) / 1000;
  const stderr = new TextDecoder().decode(out.stderr);
  if (out.code !== 0) throw new Error(`score batch failed: ${stderr}`);
  const done = stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).find((l) => l.msg === "batch done");
  const peakKb = Number(stderr.trim().split("\n").at(-1));
  return { rowsPerSecond: done.rows_per_s as number, wallRowsPerSecond: done.read / wall, peakRssMb: peakKb / 1024 };
}

async function exists(path: string) {
  return await Deno.stat(path).then(() => true, () => false);
}

function fmt(n: number) {
  return Math.round(n).toLocaleString("en-US");
}
