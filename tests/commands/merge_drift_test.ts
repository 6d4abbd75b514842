/**
 * `score merge-drift` as a user runs it after a sharded `score batch
 * --monitor`: the merged rows of N shards equal the rows of the same window
 * scored whole (exactly where every value is held, within the sketch's
 * tolerance past it), from JSON-lines files and from the Postgres table;
 * a rerun replaces them; a missing shard and the usage errors fail naming
 * what is wrong.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliArgs, DATA, MODELS, profileRides, runScore, tempDir } from "../helpers.ts";
import { loadRides, monthQuery, PG_URL, type Sql, withDb } from "../postgres/helpers.ts";

const LINREG = join(MODELS, "ride-duration-linreg");
type Row = Record<string, unknown>;

/**
 * `score batch --monitor` of the rides in `table` for the window of `window` flags, as shard `shard` (or whole);
 * its predictions go to a new file in `predictions` (only the drift rows are looked at).
 */
async function batch(
  predictions: string,
  table: string,
  reference: string,
  window: string[],
  monitor: Record<string, string>,
  shard?: string,
) {
  const run = await runScore([
    "batch",
    "--no-progress",
    ...cliArgs({
      "--model": LINREG,
      "--input": PG_URL,
      "--query": monthQuery(table),
      "--output": join(predictions, `${crypto.randomUUID()}.parquet`),
      "--monitor": reference,
      ...monitor,
      ...(shard ? { "--shard": shard, "--shard-key": "ride_id" } : {}),
    }),
    ...window,
  ]);
  assert.equal(run.code, 0, run.stderr);
}

/** `score merge-drift` with these flags. */
function merge(reference: string, window: string[], flags: Record<string, string>) {
  return runScore(["merge-drift", ...cliArgs({ "--monitor": reference, ...flags }), ...window]);
}

async function jsonLines(path: string): Promise<Row[]> {
  return (await Deno.readTextFile(path)).trim().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

/** A table's rows of the whole window (shard null), in column order. */
async function wholeRows(sql: Sql, table: string): Promise<Row[]> {
  return await sql.unsafe(
    `select * from "${table}" where shard is null order by window_start, array_position(
       array['PULocationID', 'DOLocationID', 'trip_distance', 'duration'], column_name)`,
  );
}

/** Fields equal exactly: the slice, the counts and the verdict's terms. */
const EXACT = [
  "model_name",
  "model_version",
  "shard",
  "column_name",
  "role",
  "kind",
  "row_count",
  "value_count",
  "missing_share",
  "reference_missing_share",
  "method",
  "threshold",
  "reference_version",
];
/** Statistics: from the same values they are the same numbers, up to the order of a sum. */
const STATISTICS = [
  "score",
  "wasserstein_normed",
  "ks_statistic",
  "ks_p_value",
  "jensen_shannon",
  "chi_squared",
  "chi_squared_p_value",
  "mean",
  "reference_mean",
];

/** Asserts the merged rows equal the whole run's: `tolerance` per statistic (relative 1e-12 unless named). */
function assertSameDrift(merged: Row[], whole: Row[], tolerance: Record<string, number> = {}) {
  assert.equal(merged.length, whole.length);
  const plain = (v: unknown) => (typeof v === "bigint" ? Number(v) : v instanceof Date ? v.toISOString() : v);
  for (const [i, m] of merged.entries()) {
    const w = whole[i];
    for (const field of ["window_start", "window_end", ...EXACT]) {
      assert.deepEqual(plain(m[field]), plain(w[field]), `${w.column_name}: ${field}`);
    }
    for (const field of STATISTICS) {
      const [a, b] = [m[field] as number | null, w[field] as number | null];
      if (a === null || b === null) {
        assert.equal(a, b, `${w.column_name}: ${field}`);
        continue;
      }
      const limit = tolerance[field] ?? 1e-12 * Math.max(Math.abs(b), 1e-300);
      assert(Math.abs(a - b) <= limit, `${w.column_name}: ${field} ${a} merged, ${b} whole (tolerance ${limit})`);
    }
    // The verdict is the whole run's unless the score sits within the tolerance of the threshold.
    const margin = tolerance.score ?? 0;
    if (w.score === null || Math.abs((w.score as number) - (w.threshold as number)) > margin) {
      assert.equal(m.drifted, w.drifted, `${w.column_name}: drifted`);
    }
    const [pm, pw] = [m.profile as Row, w.profile as Row];
    assert.deepEqual([pm.rows, pm.missing, pm.counts, pm.other], [pw.rows, pw.missing, pw.counts, pw.other]);
  }
}

Deno.test("score merge-drift: the shards' rows merged equal the window scored whole", async (t) => {
  await using dir = await tempDir();
  const reference = join(dir.path, "reference.json");
  await profileRides(join(DATA, "green_tripdata_2021-01.parquet"), reference);
  const path = (name: string) => join(dir.path, name);
  await withDb(["rides", "whole", "shards"], async ({ sql }, [rides, whole, shards]) => {
    await loadRides(rides);
    const day = (at: string) => ["--period", "day", "--at", at];
    const toFile = (name: string) => ({ "--monitor-output": path(name) });

    await t.step("JSON-lines files, a day of three shards: equal to the whole day's rows", async () => {
      await batch(dir.path, rides, reference, day("2021-02-04"), toFile("whole.jsonl"));
      for (const k of [1, 2, 3]) {
        await batch(dir.path, rides, reference, day("2021-02-04"), toFile(`drift-${k}.jsonl`), `${k}/3`);
      }
      const run = await merge(reference, day("2021-02-04"), {
        "--shards": ["drift-1.jsonl", "drift-2.jsonl", "drift-3.jsonl"].map(path).join(","),
        "--monitor-output": path("merged.jsonl"),
        "--monitor-report": path("merged.html"),
      });
      assert.equal(run.code, 0, run.stderr);
      const merged = await jsonLines(path("merged.jsonl"));
      const day3 = await jsonLines(path("whole.jsonl"));
      assert.deepEqual(merged.map((r) => r.shard), [null, null, null, null]);
      const shardRows = await Promise.all([1, 2, 3].map((k) => jsonLines(path(`drift-${k}.jsonl`))));
      assert.equal(
        shardRows.reduce((n, rows) => n + (rows[0].row_count as number), 0),
        day3[0].row_count,
        "the shards split the day",
      );
      // A day holds fewer values than a sketch's k: every value is held, so the statistics are the same numbers.
      assertSameDrift(merged, day3);
      assert.match(await Deno.readTextFile(path("merged.html")), /<h3>trip_distance/);
    });

    await t.step("a window with shards of two model versions: the one --model-version names", async () => {
      // The same day's shard rows as a second version would have written them (a release mid-day).
      const files = [];
      for (const k of [1, 2, 3]) {
        const rows = (await jsonLines(path(`drift-${k}.jsonl`))).map((r) => ({ ...r, model_version: "next" }));
        await Deno.writeTextFile(path(`next-${k}.jsonl`), rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
        files.push(path(`drift-${k}.jsonl`), path(`next-${k}.jsonl`));
      }
      const flags = { "--shards": files.join(","), "--monitor-output": path("versions.jsonl") };
      const unnamed = await merge(reference, day("2021-02-04"), flags);
      assert.equal(unnamed.code, 64, unnamed.stderr);
      assert.match(unnamed.stderr, /versions \\"9bceaa0ed43a\\", \\"next\\": name one with --model-version/);
      const run = await merge(reference, day("2021-02-04"), { ...flags, "--model-version": "next" });
      assert.equal(run.code, 0, run.stderr);
      const rows = await jsonLines(path("versions.jsonl"));
      assert.deepEqual(rows.map((r) => r.model_version), ["next", "next", "next", "next"]);
      const whole = await jsonLines(path("whole.jsonl"));
      assertSameDrift(rows, whole.map((r) => ({ ...r, model_version: "next" })));
      const none = await merge(reference, day("2021-02-04"), { ...flags, "--model-version": "gone" });
      assert.equal(none.code, 65, none.stderr);
      assert.match(none.stderr, /no shard rows of model \\"ride-duration-linreg\\" version \\"gone\\"/);
    });

    await t.step("a window without rows: its shards merge into rows of 0 rows and no statistic", async () => {
      const empty = day("2021-03-11");
      for (const k of [1, 2]) await batch(dir.path, rides, reference, empty, toFile(`empty-${k}.jsonl`), `${k}/2`);
      const run = await merge(reference, empty, {
        "--shards": [path("empty-1.jsonl"), path("empty-2.jsonl")].join(","),
        "--monitor-output": path("empty.jsonl"),
      });
      assert.equal(run.code, 0, run.stderr);
      const rows = await jsonLines(path("empty.jsonl"));
      assert.deepEqual(rows.map((r) => [r.row_count, r.missing_share, r.score, r.drifted]), [
        [0, null, null, false],
        [0, null, null, false],
        [0, null, null, false],
        [0, null, null, false],
      ]);
    });

    await t.step("Postgres, a month of two shards through sketches: within the sketch's tolerance", async () => {
      const month = ["--period", "month", "--at", "2021-03-01"];
      const table = (name: string) => ({ "--monitor-output": PG_URL, "--monitor-table": name });
      await batch(dir.path, rides, reference, month, table(whole));
      for (const k of ["1/2", "2/2"]) await batch(dir.path, rides, reference, month, table(shards), k);
      const run = await merge(reference, month, table(shards));
      assert.equal(run.code, 0, run.stderr);
      const merged = await wholeRows(sql, shards);
      const february = await wholeRows(sql, whole);
      assert(Number(february[2].value_count) > 4096 * 2, "past the sketch's k in each shard");
      // Documented: a rank is off by ~1.4/k typically; the KS statistic and the normed Wasserstein distance
      // (tests/monitor/scipy_parity_test.ts) by at most both sketches' errors.
      assertSameDrift(merged, february, {
        ks_statistic: 0.003,
        ks_p_value: 0.02,
        wasserstein_normed: 0.005,
        score: 0.005,
        mean: 1e-9,
      });

      // A rerun replaces the window's merged rows (the shards' stay).
      const [{ t: before }] = await sql.unsafe(`select min(scored_at) as t from "${shards}" where shard is null`);
      assert.equal((await merge(reference, month, table(shards))).code, 0);
      const counts = await sql.unsafe(
        `select shard, count(*)::int as n, min(scored_at) as t from "${shards}" group by shard order by shard`,
      );
      assert.deepEqual(counts.map((r) => [r.shard, r.n]), [["1/2", 4], ["2/2", 4], [null, 4]]);
      assert(counts[2].t > before, "the merged rows are the rerun's");
    });

    await t.step("a shard missing: exit 65 naming it, nothing written for the window", async () => {
      const table = { "--monitor-output": PG_URL, "--monitor-table": shards };
      await batch(dir.path, rides, reference, day("2021-02-06"), table, "2/3");
      const run = await merge(reference, day("2021-02-06"), table);
      assert.equal(run.code, 65, run.stderr);
      assert.match(run.stderr, /version \\"9bceaa0ed43a\\": shard 1\/3, 3\/3 missing \(found 2\/3\)/);
      const [{ n }] = await sql.unsafe(
        `select count(*)::int as n from "${shards}" where shard is null and window_start = '2021-02-05T00:00:00Z'`,
      );
      assert.equal(n, 0);
      const none = await merge(reference, day("2021-02-08"), table);
      assert.equal(none.code, 65, none.stderr);
      assert.match(none.stderr, /no shard rows of model \\"ride-duration-linreg\\": run the shards first/);
    });
  });
});

Deno.test("score merge-drift: usage errors exit 64 and name the flag", async (t) => {
  await using dir = await tempDir();
  const reference = join(dir.path, "reference.json");
  await Deno.writeTextFile(reference, "{}");
  const shard = join(dir.path, "drift-1.jsonl");
  const cases: [string, Record<string, string | boolean>, RegExp][] = [
    ["no --monitor", { "--shards": shard, "--monitor-output": "m.jsonl" }, /--monitor <profile.json>' not specified/],
    ["nothing to write", { "--monitor": reference, "--shards": shard }, /Give --monitor-output/],
    [
      "no shards' rows to read",
      { "--monitor": reference, "--monitor-output": join(dir.path, "m.jsonl") },
      /Name the shards' rows: --shards FILES/,
    ],
    [
      "the merged rows over a shard's file",
      { "--monitor": reference, "--shards": shard, "--monitor-output": join(dir.path, ".", "drift-1.jsonl") },
      /--monitor-output and --shards name the same file/,
    ],
    [
      "a backfill into one file",
      {
        "--monitor": reference,
        "--shards": shard,
        "--monitor-output": join(dir.path, "m.jsonl"),
        "--period": "day",
        "--backfill": true,
        "--from": "2021-02-01",
        "--to": "2021-02-03",
      },
      /--monitor-output needs \{window\} in its name/,
    ],
  ];
  for (const [name, flags, message] of cases) {
    await t.step(name, async () => {
      const run = await runScore(["merge-drift", ...cliArgs(flags)]);
      assert.equal(run.code, 64, run.stderr);
      assert.match(run.stderr, message);
    });
  }
});
