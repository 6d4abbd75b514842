/**
 * What the benchmarks share: the course's real rides (repeated to any
 * size), raw onnxruntime on pre-built tensors (the ceiling every score
 * command is measured against), and timing a `./score batch` run with its
 * peak RSS.
 *
 * @example
 * ```ts
 * const rides = await loadRides();
 * const ceiling = await rawOnnxruntime(rides, 1_000_000);
 * ```
 */
import * as ort from "onnxruntime-node";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ColumnInfo, RowBatch } from "../src/rows.ts";
import { openParquetSource } from "../src/sources/parquet_source.ts";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** The course's rides, shipped in `data/`. */
export const DATA = join(ROOT, "data");
export const LINREG = join(ROOT, "models", "ride-duration-linreg");
/** Rows per model run, as `score batch` runs by default. */
export const BATCH = 10_000;

/** The 2021-01..03 green taxi rides that have both location ids, as columns. */
export interface Rides {
  n: number;
  pu: bigint[];
  dO: bigint[];
  dist: number[];
  pickup: Date[];
}

/** The columns of a bench ride table or file. */
export const RIDE_COLUMNS: ColumnInfo[] = [
  { name: "ride_id", type: "int64" },
  { name: "lpep_pickup_datetime", type: "timestamp" },
  { name: "PULocationID", type: "int64" },
  { name: "DOLocationID", type: "int64" },
  { name: "trip_distance", type: "float64" },
];

/** Reads the course's three 2021 green taxi files (from `data/`). */
export async function loadRides(): Promise<Rides> {
  const rides: Rides = { n: 0, pu: [], dO: [], dist: [], pickup: [] };
  for (const month of ["01", "02", "03"]) {
    const source = await openParquetSource(join(DATA, `green_tripdata_2021-${month}.parquet`));
    const columns = ["lpep_pickup_datetime", "PULocationID", "DOLocationID", "trip_distance"];
    for await (const b of source.batches({ batchSize: 100_000, columns })) {
      for (let i = 0; i < b.length; i++) {
        if (b.columns.PULocationID[i] == null || b.columns.DOLocationID[i] == null) continue;
        rides.pu.push(b.columns.PULocationID[i] as bigint);
        rides.dO.push(b.columns.DOLocationID[i] as bigint);
        rides.dist.push(b.columns.trip_distance[i] as number);
        rides.pickup.push(b.columns.lpep_pickup_datetime[i] as Date);
      }
    }
  }
  rides.n = rides.pu.length;
  return rides;
}

/** Rides `start .. start + length` of the endless repetition, as a batch of {@linkcode RIDE_COLUMNS}; ride ids start at `firstId`. */
export function rideBatch(rides: Rides, start: number, length: number, firstId = 0): RowBatch {
  const at = (i: number) => (start + i) % rides.n;
  return {
    offset: start,
    length,
    columns: {
      ride_id: Array.from({ length }, (_, i) => BigInt(firstId + start + i)),
      lpep_pickup_datetime: Array.from({ length }, (_, i) => rides.pickup[at(i)]),
      PULocationID: Array.from({ length }, (_, i) => rides.pu[at(i)]),
      DOLocationID: Array.from({ length }, (_, i) => rides.dO[at(i)]),
      trip_distance: Array.from({ length }, (_, i) => rides.dist[at(i)]),
    },
  };
}

/** The random-forest ride model: heavy enough that onnxruntime, not I/O, bounds a job. */
export const RF = join(ROOT, "models", "ride-duration-rf");

/**
 * Raw onnxruntime rows/s for a ride model (linreg by default) on tensors built beforehand, `BATCH` rows a run,
 * with one intra-op thread, as `score` runs by default.
 */
export async function rawOnnxruntime(rides: Rides, n: number, model = LINREG): Promise<number> {
  const session = await ort.InferenceSession.create(join(model, "model.onnx"), { intraOpNumThreads: 1 });
  const feeds: Record<string, ort.Tensor>[] = [];
  for (let start = 0; start < n; start += BATCH) {
    const len = Math.min(BATCH, n - start);
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
  return n / seconds;
}

/** What one `./score batch` run measured. */
export interface BatchRun {
  rows: number;
  /** From the job's own summary (model loaded, connections open). */
  rowsPerSecond: number;
  /** Including process start-up and model load. */
  wallRowsPerSecond: number;
  peakRssMb: number;
}

/** Runs `./score batch ...args` under `/usr/bin/time` and reads its summary and peak RSS. */
export async function runScoreBatch(args: string[]): Promise<BatchRun> {
  const started = performance.now();
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "%M", join(ROOT, "score"), "batch", ...args, "--no-progress"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const wall = (performance.now() - started) / 1000;
  const stderr = new TextDecoder().decode(out.stderr);
  if (out.code !== 0) throw new Error(`score batch failed: ${stderr}`);
  const done = stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l))
    .find((l) => l.msg === "batch done");
  const peakKb = Number(stderr.trim().split("\n").at(-1));
  return {
    rows: done.read,
    rowsPerSecond: done.rows_per_s,
    wallRowsPerSecond: done.read / wall,
    peakRssMb: peakKb / 1024,
  };
}

/** 1234567 -> "1,234,567". */
export function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** a as a whole percentage of b. */
export function pct(a: number, b: number): string {
  return `${Math.round((100 * a) / b)}%`;
}
