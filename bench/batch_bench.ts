/**
 * `deno task bench:batch`: `score batch` against the ceilings of this
 * machine, in one run.
 *
 * It builds ride files of 1M and 5M rows (CSV and Parquet) from the course's
 * 2021 green taxi Parquet files (repeated), then prints side by side:
 * - the native reference: DuckDB (`@duckdb/node-api`, all cores) copying the
 *   same rows, file to file in the same format, the columns a
 *   `--keep ride_id` job writes, no model, in a process of its own
 *   (`bench/duckdb_copy.ts`);
 * - `./score batch` CSV -> CSV and Parquet -> Parquet with the linreg model,
 *   rows/s, as a percentage of DuckDB's copy (the jobs alone, and the whole
 *   processes: start, load, job, flush, as a user times them), and peak RSS;
 *   each pair run `BENCH_ROUNDS` times (3), one right after the other, the
 *   medians kept, the load average printed with each;
 * - raw onnxruntime on pre-built tensors, and the random forest through
 *   `score batch` (a model heavy enough to bound the job);
 * - the course's batch job in pandas (`bench/course_pandas_job.py`, the
 *   pickled linreg) on the smaller CSV, each run right after a `score batch`
 *   run on the same file (`BENCH_ROUNDS` pairs, the median of the pairs'
 *   ratios), when Debian's python3-pandas and python3-sklearn are there.
 *
 * `score batch`'s time includes flushing its output to disk (`fdatasync`)
 * before the rename that commits it; DuckDB's copy does not flush.
 *
 * `--quick` runs 200k rows, one round. A benchmark, not a test: it asserts nothing
 * and takes a few minutes.
 */
import { join } from "node:path";
import { createSink } from "../src/sinks/mod.ts";
import {
  BATCH,
  type BatchRun,
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
/** Runs of each pair (DuckDB's copy, then score batch); BENCH_ROUNDS sets it. */
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? (QUICK ? 1 : 3));
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
    const sink = await createSink(path);
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

// Native reference and score batch back to back, per file, so both see the same load; ROUNDS times, each round's
// ratio its own pair's (this machine's speed drifts by 2x within minutes), the medians reported.
/** DuckDB's copy run as a process: rows/s of the copy, and of the whole process. */
interface DuckDBRun {
  rowsPerSecond: number;
  wallRowsPerSecond: number;
}
const results: {
  name: string;
  duckdb: number;
  job: number;
  ratio: number;
  wall: number;
  whole: number;
  rss: number;
}[] = [];
for (const [label, n] of SIZES) {
  for (const [format, title] of [["csv", "CSV -> CSV"], ["parquet", "Parquet -> Parquet"]]) {
    const input = files[`${label}.${format}`];
    const rounds: { duckdb: DuckDBRun; job: BatchRun }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const duckdb = await duckdbCopy(input, join(OUT, `duckdb_${label.toLowerCase()}.${format}`), format, n);
      const job = await runScoreBatch([
        "--model",
        LINREG,
        "--input",
        input,
        "--output",
        join(OUT, `pred_${label.toLowerCase()}.${format}`),
        "--keep",
        "ride_id",
      ]);
      rounds.push({ duckdb, job });
    }
    const name = `${title}, ${label}`;
    const ratios = rounds.map((r) => r.job.rowsPerSecond / r.duckdb.rowsPerSecond);
    const wholes = rounds.map((r) => r.job.wallRowsPerSecond / r.duckdb.wallRowsPerSecond);
    console.log(
      `${name}: ${
        rounds.map((r) =>
          `DuckDB ${fmt(r.duckdb.rowsPerSecond)} rows/s (whole process ${fmt(r.duckdb.wallRowsPerSecond)}), ` +
          `score batch ${fmt(r.job.rowsPerSecond)} rows/s (whole process ${fmt(r.job.wallRowsPerSecond)})`
        ).join("; ")
      } (jobs ${ratios.map((x) => `${Math.round(100 * x)}%`).join(", ")}; whole processes ${
        wholes.map((x) => `${Math.round(100 * x)}%`).join(", ")
      }; load ${load()})`,
    );
    results.push({
      name,
      duckdb: median(rounds.map((r) => r.duckdb.rowsPerSecond)),
      job: median(rounds.map((r) => r.job.rowsPerSecond)),
      ratio: median(ratios),
      wall: median(rounds.map((r) => r.job.wallRowsPerSecond / r.duckdb.rowsPerSecond)),
      whole: median(wholes),
      rss: Math.max(...rounds.map((r) => r.job.peakRssMb)),
    });
  }
}

// The course's pandas job on the smaller CSV (it holds the whole file in memory), each run right after score batch
// on the same file (the pairs above are minutes earlier: this machine's speed drifts), ROUNDS pairs, medians kept.
const pandasPairs: { score: BatchRun; pandas: Awaited<ReturnType<typeof coursePandasJob>> }[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const input = files[`${SIZES[0][0]}.csv`];
  const score = await runScoreBatch(
    ["--model", LINREG, "--input", input, "--output", join(OUT, `pred_${SIZES[0][0].toLowerCase()}.csv`)],
  );
  const pandas = await coursePandasJob(input, join(OUT, `pandas_${SIZES[0][0].toLowerCase()}.csv`));
  pandasPairs.push({ score, pandas });
  if (typeof pandas === "string") break;
}
const pandasRuns = pandasPairs.flatMap((p) =>
  typeof p.pandas === "string" ? [] : [{ score: p.score, pandas: p.pandas }]
);
const pandas = pandasRuns.length === 0 ? pandasPairs[0].pandas as string : {
  rowsPerSecond: median(pandasRuns.map((p) => p.pandas.rowsPerSecond)),
  peakRssMb: Math.max(...pandasRuns.map((p) => p.pandas.peakRssMb)),
  ratio: median(pandasRuns.map((p) => p.score.rowsPerSecond / p.pandas.rowsPerSecond)),
};
const csvJob = {
  job: median(pandasRuns.map((p) => p.score.rowsPerSecond)),
  rss: Math.max(0, ...pandasRuns.map((p) => p.score.peakRssMb)),
};
console.log(
  `pandas pairs (score batch, then pandas): ${
    pandasRuns.map((p) => `${fmt(p.score.rowsPerSecond)} / ${fmt(p.pandas.rowsPerSecond)} rows/s`).join("; ")
  }; load ${load()}`,
);

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

console.log(`\nload average at the end: ${load()}`);
console.log(
  `\n| run (linreg, \`--keep ride_id\`), median of ${ROUNDS} | DuckDB copy, rows/s | \`score batch\`, rows/s (job) | ` +
    "vs DuckDB (jobs) | wall (incl. start-up) vs DuckDB's copy | **whole process vs DuckDB's whole process** | peak RSS |",
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of results) {
  console.log(
    `| ${r.name} | ${fmt(r.duckdb)} | ${fmt(r.job)} | ${Math.round(100 * r.ratio)}% | ${
      Math.round(100 * r.wall)
    }% | **${Math.round(100 * r.whole)}%** | ${r.rss.toFixed(0)} MB |`,
  );
}
console.log(`\n| ceiling, ${SIZES[0][0]} rows | rows/s |`);
console.log("| --- | ---: |");
console.log(`| raw onnxruntime, linreg, pre-built tensors, ${BATCH}-row runs | ${fmt(raw)} |`);
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
      } MB |\n| \`score batch\` (each run right before pandas's) | ${fmt(csvJob.job)} (**${
        pandas.ratio.toFixed(1)
      }x** pandas, median of the pairs' ratios) | ${csvJob.rss.toFixed(0)} MB |`,
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
 * DuckDB's copy (bench/duckdb_copy.ts) as a process of its own, timed whole as `score batch` is: rows/s of the copy
 * alone and of the whole process (start, load, copy).
 */
async function duckdbCopy(input: string, output: string, format: string, rows: number): Promise<DuckDBRun> {
  const t = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--quiet",
      "--config",
      join(ROOT, "deno.json"),
      join(ROOT, "bench", "duckdb_copy.ts"),
      input,
      output,
      format,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const wall = (performance.now() - t) / 1000;
  if (!out.success) throw new Error(`DuckDB's copy failed: ${new TextDecoder().decode(out.stderr)}`);
  const { seconds } = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  return { rowsPerSecond: rows / seconds, wallRowsPerSecond: rows / wall };
}

/** The load average over the last minute (the machine is shared: say how busy it was). */
function load(): string {
  return Deno.readTextFileSync("/proc/loadavg").split(" ")[0];
}

/** The middle value (the mean of the two middle ones for an even count). */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function exists(path: string) {
  return await Deno.stat(path).then(() => true, () => false);
}
