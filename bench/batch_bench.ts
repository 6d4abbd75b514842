/**
 * `deno task bench:batch`: `score batch` against the ceilings of this
 * machine, in one run.
 *
 * It builds ride files of 1M and 5M rows (CSV and Parquet) from the course's
 * 2021 green taxi Parquet files (repeated), then prints side by side:
 * - the native reference: DuckDB (`@duckdb/node-api`, all cores) copying the
 *   same rows, file to file in the same format, the columns a
 *   `--keep ride_id` job writes, no model;
 * - `./score batch` CSV -> CSV and Parquet -> Parquet with the linreg model,
 *   rows/s, as a percentage of DuckDB's copy, and peak RSS;
 * - raw onnxruntime on pre-built tensors, and the random forest through
 *   `score batch` (a model heavy enough to bound the job);
 * - the I/O ceiling of our own reader into our own writer, no model;
 * - the course's batch job in pandas (`bench/course_pandas_job.py`, the
 *   pickled linreg) on the smaller CSV, right after `score batch` on the
 *   same file, when Debian's python3-pandas and python3-sklearn are there.
 *
 * `--quick` runs 200k rows only. A benchmark, not a test: it asserts nothing
 * and takes a few minutes.
 */
import { join } from "node:path";
import { openDuckDB, sqlString } from "../src/duckdb/duckdb.ts";
import { createSink } from "../src/sinks/mod.ts";
import { openSource } from "../src/sources/mod.ts";
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
const QUICK = Deno.args.includes("--quick");
const SIZES: [string, number][] = QUICK ? [["200k", 200_000]] : [["1M", 1_000_000], ["5M", 5_000_000]];

await Deno.mkdir(OUT, { recursive: true });
const rides = await loadRides();
console.log(`base rides: ${rides.n} rows from the 2021 green taxi files`);

const files: Record<string, string> = {};
for (const [label, n] of SIZES) {
  for (const format of ["csv", "parquet"]) {
    const path = join(OUT, `rides_${label.toLowerCase()}.${format}`);
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

const small = files[`${SIZES[0][0]}.parquet`];
const raw = await rawOnnxruntime(rides, SIZES[0][1]);
console.log(`\nraw onnxruntime (pre-built tensors, ${BATCH}-row runs): ${fmt(raw)} rows/s`);

// Native reference and score batch back to back, per file, so both see the same load.
const results: { name: string; duckdb: number; job: number; wall: number; rss: number }[] = [];
for (const [label, n] of SIZES) {
  for (const [format, title] of [["csv", "CSV -> CSV"], ["parquet", "Parquet -> Parquet"]]) {
    const input = files[`${label}.${format}`];
    const duckdb = await duckdbCopy(input, join(OUT, `duckdb_${label.toLowerCase()}.${format}`), format, n);
    const r = await runScoreBatch([
      "--model",
      LINREG,
      "--input",
      input,
      "--output",
      join(OUT, `pred_${label.toLowerCase()}.${format}`),
      "--keep",
      "ride_id",
    ]);
    const name = `${title}, ${label}`;
    console.log(
      `${name}: DuckDB ${fmt(duckdb)} rows/s, score batch ${fmt(r.rowsPerSecond)} rows/s (${
        pct(r.rowsPerSecond, duckdb)
      })`,
    );
    results.push({ name, duckdb, job: r.rowsPerSecond, wall: r.wallRowsPerSecond, rss: r.peakRssMb });
  }
}

// The course's pandas job on the smaller CSV, right after score batch on it (it holds the whole file in memory).
const pandas = await coursePandasJob(files[`${SIZES[0][0]}.csv`], join(OUT, `pandas_${SIZES[0][0].toLowerCase()}.csv`));
const csvJob = results.find((r) => r.name === `CSV -> CSV, ${SIZES[0][0]}`)!;

// The I/O ceiling of our own code: the same reader and writer with no model.
const io: Record<string, number> = {};
for (const format of ["csv", "parquet"]) {
  io[format] = await copyOnly(
    files[`${SIZES[0][0]}.${format}`],
    join(OUT, `copy_${SIZES[0][0].toLowerCase()}.${format}`),
  );
}

// A model heavy enough to bound the job: the random forest (100 trees), raw and through score batch.
const rawRf = await rawOnnxruntime(rides, SIZES[0][1], RF);
const rf = await runScoreBatch([
  "--model",
  RF,
  "--input",
  small,
  "--output",
  join(OUT, "pred_rf.parquet"),
  "--keep",
  "ride_id",
]);

console.log(
  "\n| run (linreg, `--keep ride_id`) | DuckDB copy, rows/s | `score batch`, rows/s (job) | **vs DuckDB** | " +
    "rows/s (wall, incl. start-up) | wall vs DuckDB | peak RSS |",
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of results) {
  console.log(
    `| ${r.name} | ${fmt(r.duckdb)} | ${fmt(r.job)} | **${pct(r.job, r.duckdb)}** | ${fmt(r.wall)} | ${
      pct(r.wall, r.duckdb)
    } | ${r.rss.toFixed(0)} MB |`,
  );
}
console.log(`\n| ceiling, ${SIZES[0][0]} rows | rows/s |`);
console.log("| --- | ---: |");
console.log(`| raw onnxruntime, linreg, pre-built tensors, ${BATCH}-row runs | ${fmt(raw)} |`);
console.log(`| our CSV reader into our CSV writer, no model | ${fmt(io.csv)} |`);
console.log(`| our Parquet reader into our Parquet writer, no model | ${fmt(io.parquet)} |`);
console.log(`| raw onnxruntime, random forest | ${fmt(rawRf)} |`);
console.log(
  `| \`score batch\` Parquet -> Parquet, random forest | ${fmt(rf.rowsPerSecond)} (${
    pct(rf.rowsPerSecond, rawRf)
  } of raw onnxruntime, peak RSS ${rf.peakRssMb.toFixed(0)} MB) |`,
);

if (typeof pandas === "string") {
  console.log(`\ncourse's pandas job: skipped (${pandas})`);
} else {
  console.log(
    `\n| CSV -> CSV, ${SIZES[0][0]} rows, linreg | rows/s (job) | peak RSS |\n| --- | ---: | ---: |\n` +
      `| the course's pandas job (pickled DictVectorizer + LinearRegression) | ${fmt(pandas.rowsPerSecond)} | ${
        pandas.peakRssMb.toFixed(0)
      } MB |\n| \`score batch\` (same run, above) | ${fmt(csvJob.job)} (**${
        (csvJob.job / pandas.rowsPerSecond).toFixed(1)
      }x** pandas) | ${csvJob.rss.toFixed(0)} MB |`,
  );
}

/**
 * The course's batch job in pandas on a CSV file (`bench/course_pandas_job.py`, Debian's python3): its rows/s
 * (read to written, after imports and the pickle's load) and peak RSS, or why it was skipped.
 */
async function coursePandasJob(
  input: string,
  output: string,
): Promise<{ rowsPerSecond: number; peakRssMb: number } | string> {
  const python = "/usr/bin/python3";
  const probe = await new Deno.Command(python, {
    args: ["-c", "import pandas, sklearn"],
    stderr: "null",
    stdout: "null",
  })
    .output().catch(() => undefined);
  if (probe?.code !== 0) {
    return `${python} with pandas and sklearn is missing: apt-get install python3-pandas python3-sklearn`;
  }
  const out = await new Deno.Command("/usr/bin/time", {
    args: [
      "-f",
      "%M",
      python,
      join(ROOT, "bench", "course_pandas_job.py"),
      "--model",
      join(ROOT, "data", "course", "lin_reg.bin"),
      "--input",
      input,
      "--output",
      output,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (out.code !== 0) return `it failed: ${stderr.trim().split("\n").at(-2) ?? ""}`;
  const done = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  return { rowsPerSecond: done.rows_per_s, peakRssMb: Number(stderr.trim().split("\n").at(-1)) / 1024 };
}

/**
 * DuckDB copying the rows a `--keep ride_id` job writes (its distance standing in for the prediction), file to
 * file in the same format, all cores: the native reference.
 */
async function duckdbCopy(input: string, output: string, format: string, rows: number): Promise<number> {
  const db = await openDuckDB();
  try {
    const read = format === "csv" ? `read_csv(${sqlString(input)})` : `read_parquet(${sqlString(input)})`;
    const t = performance.now();
    await db.connection.run(
      `copy (select ride_id, trip_distance as duration, 'ride-duration-linreg' as model_name, ` +
        `'9bceaa0ed43a' as model_version from ${read}) to ${sqlString(output)} (format ${format})`,
    );
    return rows / ((performance.now() - t) / 1000);
  } finally {
    await db.close();
  }
}

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
