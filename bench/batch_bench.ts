/**
 * `deno task bench:batch`: how close `score batch` comes to raw onnxruntime
 * on this machine, in one run.
 *
 * It builds ride files of 1M and 5M rows from the course's 2021 green taxi
 * Parquet files (repeated), then prints side by side:
 * - raw onnxruntime rows/s on pre-built tensors (the linreg model, 10k-row runs),
 * - `./score batch` CSV -> CSV and Parquet -> Parquet rows/s (1M rows),
 * - the I/O ceiling: our reader straight into our writer, no model,
 * - the ratios, and peak RSS at 1M and 5M rows (Parquet -> Parquet).
 *
 * A benchmark, not a test: it asserts nothing and takes a minute or two.
 */
import { join } from "node:path";
import { createSink } from "../src/sinks/create_sink.ts";
import { openSource } from "../src/sources/open_source.ts";
import {
  BATCH,
  fmt,
  LINREG,
  loadRides,
  pct,
  rawOnnxruntime,
  RF,
  RIDE_COLUMNS,
  rideBatch,
  ROOT,
  runScoreBatch,
} from "./rides.ts";

const OUT = join(ROOT, "bench", "out");

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
    const sink = createSink(path);
    await sink.open(RIDE_COLUMNS);
    for (let start = 0; start < n; start += 100_000) {
      await sink.write(rideBatch(rides, start, Math.min(100_000, n - start)));
    }
    await sink.commit();
    console.log(`wrote ${path} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
}

const raw = await rawOnnxruntime(rides, 1_000_000);
console.log(`\nraw onnxruntime (pre-built tensors, ${BATCH}-row runs): ${fmt(raw)} rows/s`);

// The I/O ceiling: the same reader and writer with no model (each row's distance stands in for a prediction).
const io: Record<string, number> = {};
for (
  const [name, input, output] of [
    ["CSV -> CSV, 1M", files["1m.csv"], join(OUT, "copy_1m.csv")],
    ["Parquet -> Parquet, 1M", files["1m.parquet"], join(OUT, "copy_1m.parquet")],
  ] as const
) {
  io[name] = await copyOnly(input, output);
  console.log(`I/O only (read, write, no model), ${name}: ${fmt(io[name])} rows/s`);
}

// A model heavy enough to bound the job: the random forest (100 trees), raw and through score batch.
const rawRf = await rawOnnxruntime(rides, 1_000_000, RF);
const rf = await runScoreBatch([
  "--model",
  RF,
  "--input",
  files["1m.parquet"],
  "--output",
  join(OUT, "pred_rf_1m.parquet"),
  "--keep",
  "ride_id",
]);
console.log(
  `raw onnxruntime, random forest: ${fmt(rawRf)} rows/s; score batch Parquet -> Parquet with it: ${
    fmt(rf.rowsPerSecond)
  } rows/s`,
);

const results: [string, number, number, number][] = [];
for (
  const [name, input, output] of [
    ["CSV -> CSV, 1M", files["1m.csv"], join(OUT, "pred_1m.csv")],
    ["Parquet -> Parquet, 1M", files["1m.parquet"], join(OUT, "pred_1m.parquet")],
    ["Parquet -> Parquet, 5M", files["5m.parquet"], join(OUT, "pred_5m.parquet")],
  ] as const
) {
  const r = await runScoreBatch(["--model", LINREG, "--input", input, "--output", output, "--keep", "ride_id"]);
  results.push([name, r.rowsPerSecond, r.wallRowsPerSecond, r.peakRssMb]);
}

console.log("\n| run | rows/s (job) | rows/s (wall, incl. start-up) | vs raw onnxruntime | vs I/O only | peak RSS |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
console.log(`| raw onnxruntime, 1M | ${fmt(raw)} | | 100% | | |`);
for (const [name, rps] of Object.entries(io)) {
  console.log(`| I/O only ${name} | ${fmt(rps)} | | ${pct(rps, raw)} | 100% | |`);
}
for (const [name, rps, wall, rss] of results) {
  const ioCeiling = io[name];
  console.log(
    `| score batch ${name} | ${fmt(rps)} | ${fmt(wall)} | ${pct(rps, raw)} | ${
      ioCeiling ? pct(rps, ioCeiling) : ""
    } | ${rss.toFixed(0)} MB |`,
  );
}

console.log(
  `\n| random forest (ride-duration-rf), 1M | rows/s (job) | rows/s (wall) | vs raw onnxruntime | peak RSS |`,
);
console.log("| --- | ---: | ---: | ---: | ---: |");
console.log(`| raw onnxruntime | ${fmt(rawRf)} | | 100% | |`);
console.log(
  `| score batch Parquet -> Parquet | ${fmt(rf.rowsPerSecond)} | ${fmt(rf.wallRowsPerSecond)} | ${
    pct(rf.rowsPerSecond, rawRf)
  } | ${rf.peakRssMb.toFixed(0)} MB |`,
);

/** Our source straight into our sink, the columns a `--keep ride_id` job writes, no model. */
async function copyOnly(input: string, output: string): Promise<number> {
  const t = performance.now();
  const source = await openSource(input);
  const sink = createSink(output);
  await sink.open([
    { name: "ride_id", type: source.columns.find((c) => c.name === "ride_id")!.type },
    { name: "duration", type: "float64" },
    { name: "model_name", type: "string" },
    { name: "model_version", type: "string" },
  ]);
  let rows = 0;
  for await (const b of source.batches({ batchSize: BATCH, columns: ["ride_id", "trip_distance"] })) {
    const distance = Float64Array.from(b.columns.trip_distance as ArrayLike<number>, (v) => Number(v));
    const constant = (v: string) => new Array(b.length).fill(v);
    await sink.write({
      offset: b.offset,
      length: b.length,
      columns: {
        ride_id: b.columns.ride_id,
        duration: distance,
        model_name: constant("copy"),
        model_version: constant("0"),
      },
    });
    rows += b.length;
  }
  await sink.commit();
  await source.close();
  return rows / ((performance.now() - t) / 1000);
}

async function exists(path: string) {
  return await Deno.stat(path).then(() => true, () => false);
}
