/**
 * `score batch --monitor` as a user runs it: drift rows in a JSON-lines
 * file and a report from a reference of `score profile`; in a Postgres
 * table, replaced per window, model version and shard on a rerun; the
 * usage errors.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliArgs, DATA, logLines, MODELS, profileRides, runScore, tempDir } from "../helpers.ts";
import { loadRides, PG_URL, withDb } from "../postgres/helpers.ts";

const LINREG = join(MODELS, "ride-duration-linreg");

/** The KS statistic of two samples, from their empirical CDFs (every value). */
function ks(a: number[], b: number[]): number {
  let d = 0;
  for (const x of [...a, ...b]) {
    const fa = a.filter((v) => v <= x).length / a.length;
    const fb = b.filter((v) => v <= x).length / b.length;
    d = Math.max(d, Math.abs(fa - fb));
  }
  return d;
}

Deno.test("score batch --monitor into a file: drift per column, a never-seen category, missing values", async (t) => {
  await using dir = await tempDir();
  const pick = <T>(xs: T[], i: number) => xs[i % xs.length];
  const refDistance = Array.from({ length: 300 }, (_, i) => 1 + (i % 10) * 0.5);
  const reference = refDistance.map((d, i) => `${pick([74, 75, 41], i)},${pick([42, 75], i)},${d}`);
  // The window: distances doubled, a pickup zone the reference never saw, one distance in ten missing.
  const curDistance = Array.from({ length: 200 }, (_, i) => i % 10 === 9 ? null : 2 * (1 + (i % 10) * 0.5));
  const current = curDistance.map((d, i) => `${pick([74, 75, 99], i)},${pick([42, 75], i)},${d ?? ""}`);
  const header = "PULocationID,DOLocationID,trip_distance\n";
  await Deno.writeTextFile(join(dir.path, "reference.csv"), header + reference.join("\n") + "\n");
  await Deno.writeTextFile(join(dir.path, "current.csv"), header + current.join("\n") + "\n");
  await profileRides(join(dir.path, "reference.csv"), join(dir.path, "reference.json"));
  const run = await runScore(["batch", "--model", LINREG, "--no-progress", "--input", join(dir.path, "current.csv")], {
    env: {
      SCORE_OUTPUT: join(dir.path, "predictions.jsonl"),
      SCORE_MONITOR: join(dir.path, "reference.json"),
      SCORE_MONITOR_OUTPUT: join(dir.path, "drift.jsonl"),
      SCORE_MONITOR_REPORT: join(dir.path, "report.html"),
    },
  });
  assert.equal(run.code, 0, run.stderr);
  const rows = (await Deno.readTextFile(join(dir.path, "drift.jsonl"))).trim().split("\n").map((l) => JSON.parse(l));
  const by = Object.fromEntries(rows.map((r) => [r.column_name, r]));

  await t.step("a row per column, with the window's counts and the model", () => {
    assert.deepEqual(rows.map((r) => [r.column_name, r.role, r.kind]), [
      ["PULocationID", "input", "categorical"],
      ["DOLocationID", "input", "categorical"],
      ["trip_distance", "input", "numeric"],
      ["duration", "output", "numeric"],
    ]);
    for (const r of rows) {
      assert.deepEqual([r.model_name, r.model_version, r.window_start, r.shard], [
        "ride-duration-linreg",
        "9bceaa0ed43a",
        null,
        null,
      ]);
    }
    assert.deepEqual([by.trip_distance.row_count, by.trip_distance.value_count, by.trip_distance.missing_share], [
      200,
      180,
      0.1,
    ]);
    // rows without a distance are rejected by the model: 180 predictions
    assert.deepEqual([by.duration.row_count, by.duration.missing_share], [180, 0]);
  });

  await t.step("a small reference: KS and chi-squared decide; the statistics are those of every value", () => {
    const window = curDistance.filter((d): d is number => d !== null);
    assert.equal(by.trip_distance.method, "ks");
    assert(Math.abs(by.trip_distance.ks_statistic - ks(refDistance, window)) < 1e-12);
    assert.equal(by.trip_distance.drifted, true);
    assert.equal(by.PULocationID.method, "chi_squared");
    assert.equal(by.PULocationID.drifted, true, "a third of the window in a zone never seen");
    assert.equal(by.DOLocationID.drifted, false, "the same two zones, in the same shares");
    assert.equal(by.DOLocationID.chi_squared_p_value, 1);
    assert.equal(by.duration.drifted, true);
  });

  await t.step("a drift log line per window, and the report", async () => {
    const drift = logLines(run.stderr).find((l) => l.msg === "drift")!;
    assert.deepEqual(drift.drifted_columns, ["PULocationID", "trip_distance"]);
    assert.equal(drift.prediction_drifted, true);
    const html = await Deno.readTextFile(join(dir.path, "report.html"));
    assert.match(html, /<h3>trip_distance <small>input, numeric, KS p-value/);
    assert.equal(html.match(/<svg /g)?.length, 4);
  });
});

Deno.test("score batch --monitor into Postgres: a row per column and day, replaced on a rerun, shards apart", async (t) => {
  await using dir = await tempDir();
  const reference = join(dir.path, "reference.json");
  await profileRides(join(DATA, "green_tripdata_2021-01.parquet"), reference);
  await withDb(["rides", "preds", "drift"], async ({ sql }, [rides, preds, drift]) => {
    await loadRides(rides);
    const day = (at: string, ...more: string[]) =>
      runScore([
        "batch",
        "--model",
        LINREG,
        "--no-progress",
        ...cliArgs({
          "--input": PG_URL,
          "--query": `select * from "${rides}" where lpep_pickup_datetime >= $1 and lpep_pickup_datetime < $2`,
          "--period": "day",
          "--at": at,
          "--output": PG_URL,
          "--output-table": preds,
          "--keep": "ride_id",
          "--monitor": reference,
          "--monitor-output": PG_URL,
          "--monitor-table": drift,
        }),
        ...more,
      ]);
    const slices = async () =>
      (await sql.unsafe(
        `select to_char(window_start at time zone 'UTC', 'YYYY-MM-DD') as day, shard, count(*)::int as n,
                max(row_count)::int as rows from "${drift}" group by 1, 2 order by 1, 2`,
      )).map((r) => [r.day, r.shard, r.n, r.rows]);
    const [{ n: rides3 }] = await sql.unsafe(
      `select count(*)::int as n from "${rides}" where lpep_pickup_datetime >= '2021-02-03' and lpep_pickup_datetime < '2021-02-04'`,
    );

    await t.step("a day: four rows (three inputs, the prediction) with the day's rows", async () => {
      const run = await day("2021-02-04T00:10:00Z");
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(await slices(), [["2021-02-03", null, 4, rides3]]);
      const [r] = await sql.unsafe(
        `select method, drifted, score, ks_statistic, reference_version, profile->>'kind' as kind from "${drift}"
          where column_name = 'trip_distance'`,
      );
      assert.deepEqual([r.method, r.reference_version, r.kind], ["wasserstein", "9bceaa0ed43a", "numeric"]);
      assert.equal(typeof r.drifted, "boolean");
      assert(r.score >= 0 && r.ks_statistic > 0);
    });

    await t.step("a rerun of the day replaces its rows; another day adds its own", async () => {
      const before = await sql.unsafe(`select min(scored_at) as t from "${drift}"`);
      assert.equal((await day("2021-02-04T00:10:00Z")).code, 0);
      assert.equal((await day("2021-02-05T00:10:00Z")).code, 0);
      const got = await slices();
      assert.deepEqual(got.map(([d, s, n]) => [d, s, n]), [["2021-02-03", null, 4], ["2021-02-04", null, 4]]);
      const [{ t: after }] = await sql.unsafe(
        `select min(scored_at) as t from "${drift}" where window_start = '2021-02-03T00:00:00Z'`,
      );
      assert(after > before[0].t, "the day's rows are the rerun's");
    });

    await t.step("shards write their own rows, each replaced by its own rerun", async () => {
      for (const shard of ["1/2", "2/2", "1/2"]) {
        const run = await day("2021-02-04T00:10:00Z", "--shard", shard, "--shard-key", "ride_id");
        assert.equal(run.code, 0, run.stderr);
      }
      const got = (await slices()).filter(([d]) => d === "2021-02-03");
      assert.deepEqual(got.map(([d, s, n]) => [d, s, n]), [
        ["2021-02-03", "1/2", 4],
        ["2021-02-03", "2/2", 4],
        ["2021-02-03", null, 4],
      ]);
      const rows = got.map(([, , , r]) => r as number);
      assert.equal(rows[0] + rows[1], rides3, "the shards' rows add up to the day's");
    });
  });
});

Deno.test("score batch --monitor: usage errors exit 64 and name the flag", async (t) => {
  await using dir = await tempDir();
  const notProfile = join(dir.path, "not-a-profile.json");
  await Deno.writeTextFile(notProfile, '{"hello": 1}');
  const input = join(DATA, "green_tripdata_2021-02.parquet");
  const cases: [string, Record<string, string | boolean>, RegExp][] = [
    ["an output without --monitor", { "--monitor-output": "drift.jsonl" }, /--monitor-output goes with --monitor/],
    [
      "a Postgres output without a table",
      { "--monitor": notProfile, "--monitor-output": PG_URL },
      /A Postgres --monitor-output needs --monitor-table/,
    ],
    [
      "a profile that is not there",
      { "--monitor": join(dir.path, "nope.json") },
      /Cannot read --monitor \\".*nope.json\\": no such file/,
    ],
    [
      "a file that is not a profile",
      { "--monitor": notProfile },
      /is not a profile from score profile: not a score profile/,
    ],
    [
      "drift rows and predictions both to standard output",
      { "--monitor": notProfile, "--monitor-output": "-", "--output": "-" },
      /--monitor-output - would share standard output with --output -/,
    ],
  ];
  for (const [name, flags, message] of cases) {
    await t.step(name, async () => {
      const run = await runScore([
        "batch",
        ...cliArgs({ "--model": LINREG, "--input": input, "--output": join(dir.path, "out.jsonl"), ...flags }),
      ]);
      assert.equal(run.code, 64, run.stderr);
      assert.match(run.stderr, message);
    });
  }
});
