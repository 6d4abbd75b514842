/**
 * `score batch` with Postgres, end to end through the real `./score` and
 * the real server: windows, reruns, kill -9, rejects, backfill, shards and
 * the errors a user meets.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openSource } from "../../src/sources/open_source.ts";
import { cliArgs, FIXTURES, logLines, MODELS, randomName, ROOT, runScore, tempDir, waitUntil } from "../helpers.ts";
import { goldenDurations, loadRides, monthQuery, PG_URL, ridesFile, type Sql, withDb } from "../postgres/helpers.ts";

const LINREG = join(MODELS, "ride-duration-linreg");
const FEBRUARY = ["--period", "month", "--at", "2021-03-01T00:05:00Z"];

function score(...args: string[]) {
  return runScore(["batch", "--model", LINREG, "--no-progress", ...args]);
}

/** Predictions into `preds` (keeping ride_id) and rejects into `rejects`, both tables of the test database. */
function intoTables(preds: string, rejects: string): string[] {
  return cliArgs({
    "--output": PG_URL,
    "--output-table": preds,
    "--keep": "ride_id",
    "--rejects": PG_URL,
    "--rejects-table": rejects,
  });
}

/** (ride_row, duration) of a predictions table, sorted by ride_row. */
async function predictions(
  sql: Sql,
  table: string,
  where = "true",
) {
  const rows = await sql.unsafe(`select ride_row, duration from "${table}" where ${where} order by ride_row`);
  return rows.map((r) => [Number(r.ride_row), r.duration as number]);
}

Deno.test("score batch postgres -> postgres: a month window, checked against the golden predictions; a rerun replaces it", async (t) => {
  await withDb(["rides", "preds"], async ({ sql }, [rides, preds]) => {
    await loadRides(rides);
    const [{ n: expected }] = await sql.unsafe(
      `select count(*)::int as n from (${
        monthQuery(rides).replace("$1", "'2021-02-01'").replace("$2", "'2021-03-01'")
      }) q`,
    );
    const args = [
      ...cliArgs({ "--input": PG_URL, "--query": monthQuery(rides) }),
      ...FEBRUARY,
      ...cliArgs({ "--output": PG_URL, "--output-table": preds, "--keep": "ride_row,ride_id" }),
    ];
    const first = await score(...args);
    assert.equal(first.code, 0, first.stderr);
    const done = logLines(first.stderr).find((l) => l.msg === "window done")!;
    assert.equal(done.window_start, "2021-02-01T00:00:00.000Z");
    assert.equal(done.window_end, "2021-03-01T00:00:00.000Z");
    assert.equal(done.predicted, expected);

    await t.step("one row per input row, equal to the golden predictions", async () => {
      const got = await predictions(sql, preds);
      assert.equal(got.length, expected);
      assert.ok(expected > 61_000, `enough rides scored: ${expected}`);
      const golden = await goldenDurations();
      for (const [row, duration] of got) {
        const want = golden.get(row);
        assert.ok(want !== undefined, `ride ${row} is one the golden file scored`);
        assert.ok(Math.abs(duration - want) < 1e-9, `ride ${row}: ${duration} vs golden ${want}`);
      }
    });
    await t.step("types follow the data, and the window, model and time are on every row", async () => {
      const types = await sql.unsafe(
        `select attname, format_type(atttypid, atttypmod) as t from pg_attribute where attrelid = '"${preds}"'::regclass and attnum > 0 order by attnum`,
      );
      assert.deepEqual(types.map((r) => `${r.attname} ${r.t}`), [
        "ride_row bigint",
        "ride_id text",
        "duration double precision",
        "model_name text",
        "model_version text",
        "window_start timestamp with time zone",
        "window_end timestamp with time zone",
        "scored_at timestamp with time zone",
      ]);
      const meta = await sql.unsafe(
        `select model_name, model_version, window_start, window_end, count(distinct scored_at)::int as runs from "${preds}" group by 1, 2, 3, 4`,
      );
      assert.equal(meta.length, 1);
      assert.equal(meta[0].model_name, "ride-duration-linreg");
      assert.equal((meta[0].window_start as Date).toISOString(), "2021-02-01T00:00:00.000Z");
      assert.equal(meta[0].runs, 1);
    });
    await t.step("a rerun gives the same count and the same values", async () => {
      const before = await predictions(sql, preds);
      const again = await score(...args);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(await predictions(sql, preds), before);
      const [{ runs }] = await sql.unsafe(`select count(distinct scored_at)::int as runs from "${preds}"`);
      assert.equal(runs, 1, "the first run's rows were replaced, not kept beside");
    });
  });
});

Deno.test("score batch: kill -9 in the middle leaves the old rows; the rerun gives exactly one row per input row", async () => {
  await withDb(["rides", "preds"], async ({ sql }, [rides, preds]) => {
    await loadRides(rides);
    // Each ride five times, small batches: a run long enough to kill while it copies.
    const copies = 5;
    const query = `select r.*, r.ride_id || '-' || g as uid from "${rides}" r, generate_series(1, ${copies}) g
      where r.lpep_pickup_datetime >= $1 and r.lpep_pickup_datetime < $2`;
    const args = [
      "batch",
      ...cliArgs({ "--model": LINREG, "--no-progress": true, "--input": PG_URL, "--query": query }),
      ...FEBRUARY,
      ...cliArgs({ "--output": PG_URL, "--output-table": preds, "--keep": "uid", "--batch-size": 2000 }),
    ];
    const first = await runScore(args);
    assert.equal(first.code, 0, first.stderr);
    const [{ n: inputRows }] = await sql.unsafe(
      `select count(*)::int as n from (${query.replace("$1", "'2021-02-01'").replace("$2", "'2021-03-01'")}) q`,
    );
    const snapshot = async () =>
      (await sql.unsafe(
        `select count(*)::int as n, count(distinct uid)::int as u, count(distinct scored_at)::int as runs, min(scored_at) as at from "${preds}"`,
      ))[0];
    const old = await snapshot();
    assert.deepEqual([old.n, old.u, old.runs], [inputRows, inputRows, 1]);

    const child = new Deno.Command(join(ROOT, "score"), { args, stdout: "null", stderr: "null" }).spawn();
    // Kill it once its COPY into the predictions table has taken some rows.
    await waitUntil(async () => {
      const [{ n }] = await sql.unsafe(
        `select coalesce(max(p.tuples_processed), 0)::int as n from pg_stat_progress_copy p join pg_stat_activity a using (pid)
          where a.query ilike $1`,
        [`copy "${preds}"%`],
      );
      return n >= 10_000;
    }, "the second run to copy rows into its open transaction");
    child.kill("SIGKILL");
    const status = await child.status;
    assert.equal(status.signal, "SIGKILL", "killed, not finished");
    const after = await snapshot();
    assert.deepEqual([after.n, after.u, after.runs, (after.at as Date).getTime()], [
      old.n,
      old.u,
      1,
      (old.at as Date).getTime(),
    ], "the old rows, untouched");

    const rerun = await runScore(args);
    assert.equal(rerun.code, 0, rerun.stderr);
    const last = await snapshot();
    assert.deepEqual([last.n, last.u, last.runs], [inputRows, inputRows, 1], "exactly one row per input row");
    assert.ok((last.at as Date).getTime() > (old.at as Date).getTime());
  });
});

Deno.test("score batch: bad rows go to the rejects (Postgres table or file) with the reason and the window; good rows are scored", async (t) => {
  await using dir = await tempDir();
  await withDb(["raw_rides", "preds", "rejects"], async ({ sql }, [raw, preds, rejects]) => {
    // A staging table as it arrives: numbers as text.
    await sql.unsafe(
      `create table "${raw}" (ride_id text, pickup timestamp, "PULocationID" text, "DOLocationID" bigint, trip_distance text)`,
    );
    await sql.unsafe(`insert into "${raw}" values
      ('good-1', '2021-02-03 10:00', '130', 205, '3.66'),
      ('text-distance', '2021-02-03 11:00', '130', 205, 'three miles'),
      ('null-pickup', '2021-02-03 12:00', null, 205, '1.0'),
      ('null-distance', '2021-02-03 13:00', '130', 205, null),
      ('text-pickup', '2021-02-03 12:30', 'JFK', 205, '1.0'),
      ('good-2', '2021-02-04 10:00', '10', 50, '40'),
      ('other-month', '2021-03-04 10:00', '10', 50, 'bad')`);
    const query = `select * from "${raw}" where pickup >= $1 and pickup < $2 order by ride_id`;
    const args = [
      ...cliArgs({ "--input": PG_URL, "--query": query }),
      ...FEBRUARY,
      ...intoTables(preds, rejects),
    ];
    const run = await score(...args);
    assert.equal(run.code, 0, run.stderr);
    await t.step("the good rows are scored", async () => {
      const rows = await sql.unsafe(`select ride_id, duration from "${preds}" order by ride_id`);
      assert.deepEqual(rows.map((r) => r.ride_id), ["good-1", "good-2"]);
      assert.ok(
        Math.abs((rows[1].duration as number) - 26.43883355119793) < 1e-9,
        "the course's published answer for 10 -> 50, 40 miles",
      );
    });
    await t.step("each bad row is in the rejects table with its reason, data and window", async () => {
      const rows = await sql.unsafe(`select * from "${rejects}" order by row`);
      assert.deepEqual(rows.map((r) => r.data.ride_id), [
        "null-distance",
        "null-pickup",
        "text-distance",
        "text-pickup",
      ]);
      assert.match(rows[0].error as string, /column "trip_distance" is missing \(expected a number\)/);
      assert.match(rows[1].error as string, /column "PULocationID" is missing \(expected an integer\)/);
      assert.match(rows[2].error as string, /column "trip_distance" is not a number \(got "three miles"\)/);
      assert.match(rows[3].error as string, /column "PULocationID" is not an integer \(got "JFK"\)/);
      assert.deepEqual(rows.map((r) => Number(r.row)), [3, 4, 5, 6], "1-based row of the query's result");
      for (const r of rows) {
        assert.equal((r.window_start as Date).toISOString(), "2021-02-01T00:00:00.000Z");
        assert.equal(r.model_name, "ride-duration-linreg");
      }
      const types = await sql.unsafe(
        `select format_type(atttypid, atttypmod) as t from pg_attribute where attrelid = '"${rejects}"'::regclass and attname = 'data'`,
      );
      assert.equal(types[0].t, "jsonb");
    });
    await t.step("a rerun replaces the window's rejects too", async () => {
      const again = await score(...args);
      assert.equal(again.code, 0, again.stderr);
      assert.equal((await sql.unsafe(`select count(*)::int as n from "${rejects}"`))[0].n, 4);
    });
    await t.step("rejects to a CSV file", async () => {
      const file = join(dir.path, "rejects.csv");
      const r = await score(
        ...cliArgs({ "--input": PG_URL, "--query": query }),
        ...FEBRUARY,
        ...cliArgs({ "--output": join(dir.path, "out.csv"), "--rejects": file }),
      );
      assert.equal(r.code, 0, r.stderr);
      const lines = (await Deno.readTextFile(file)).trim().split("\n");
      assert.equal(lines[0], "row,error,data,model_name,model_version,window_start,window_end,scored_at");
      assert.equal(lines.length, 5);
      assert.match(lines[3], /three miles/);
    });
  });
});

Deno.test({
  name: "score batch --backfill: three months in order, one transaction each, each reported",
  fn: async () => {
    await withDb(["rides3", "preds3"], async ({ sql }, [rides, preds]) => {
      for (const month of ["2021-01", "2021-02", "2021-03"]) await loadRides(rides, ridesFile(month), month);
      const query = `select * from "${rides}" where lpep_pickup_datetime >= $1 and lpep_pickup_datetime < $2`;
      const args = [
        ...cliArgs({
          "--input": PG_URL,
          "--query": query,
          "--period": "month",
          "--backfill": true,
          "--from": "2021-01-01",
          "--to": "2021-04-01",
          "--output": PG_URL,
          "--output-table": preds,
          "--keep": "ride_id",
        }),
      ];
      const run = await score(...args);
      assert.equal(run.code, 0, run.stderr);
      const expected = await sql.unsafe(
        `select date_trunc('month', lpep_pickup_datetime) as m, count(*)::int as n from "${rides}"
          where lpep_pickup_datetime >= '2021-01-01' and lpep_pickup_datetime < '2021-04-01' group by 1 order by 1`,
      );
      const windows = logLines(run.stderr).filter((l) => l.msg === "window done");
      assert.deepEqual(windows.map((w) => [w.window_start, w.window_end, w.predicted]), [
        ["2021-01-01T00:00:00.000Z", "2021-02-01T00:00:00.000Z", expected[0].n],
        ["2021-02-01T00:00:00.000Z", "2021-03-01T00:00:00.000Z", expected[1].n],
        ["2021-03-01T00:00:00.000Z", "2021-04-01T00:00:00.000Z", expected[2].n],
      ]);
      const done = logLines(run.stderr).find((l) => l.msg === "backfill done")!;
      assert.equal(done.windows, 3);
      const count = async () =>
        (await sql.unsafe(
          `select window_start, count(*)::int as n, count(distinct ride_id)::int as u from "${preds}" group by 1 order by 1`,
        ))
          .map((r) => [(r.window_start as Date).toISOString().slice(0, 7), r.n, r.u]);
      const want = [["2021-01", expected[0].n, expected[0].n], ["2021-02", expected[1].n, expected[1].n], [
        "2021-03",
        expected[2].n,
        expected[2].n,
      ]];
      assert.deepEqual(await count(), want);
      const again = await score(...args);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(await count(), want, "a backfill rerun replaces each month");
    });
  },
});

Deno.test("score batch --shard: 1/2 and 2/2 together are the whole window, each ride once", async () => {
  await withDb(["rides", "whole", "sharded"], async ({ sql }, [rides, whole, sharded]) => {
    await loadRides(rides);
    const query = monthQuery(rides);
    const common = ["--input", PG_URL, "--query", query, ...FEBRUARY, "--output", PG_URL, "--keep", "ride_row"];
    const all = await score(...common, "--output-table", whole);
    assert.equal(all.code, 0, all.stderr);
    const counts: number[] = [];
    for (const k of ["2/2", "1/2", "1/2"]) {
      const r = await score(...common, "--output-table", sharded, "--shard", k, "--shard-key", "ride_id");
      assert.equal(r.code, 0, r.stderr);
      counts.push(logLines(r.stderr).find((l) => l.msg === "window done")!.predicted as number);
    }
    assert.ok(counts[0] > 0 && counts[1] > 0);
    assert.equal(counts[1], counts[2], "a shard rerun reads the same rows");
    const wholeRows = await predictions(sql, whole);
    assert.equal(counts[0] + counts[1], wholeRows.length);
    assert.deepEqual(
      await predictions(sql, sharded),
      wholeRows,
      "the same rides and predictions, none twice (the 1/2 rerun replaced its own)",
    );
    const cols = await sql.unsafe(
      `select attname from pg_attribute where attrelid = '"${sharded}"'::regclass and attnum > 0 order by attnum`,
    );
    assert.ok(cols.some((c) => c.attname === "ride_id"), "the shard key is kept so a rerun replaces only its shard");
  });
});

Deno.test("score batch: any mix of files and Postgres", async (t) => {
  await using dir = await tempDir();
  await withDb(["rides_csv"], async ({ sql }, [rides]) => {
    await t.step(
      "CSV -> Postgres (no window, --replace version: a rerun replaces the model version's rows)",
      async () => {
        for (let i = 0; i < 2; i++) {
          const r = await score(
            ...cliArgs({
              "--input": join(FIXTURES, "rides_small.csv"),
              "--output": PG_URL,
              "--output-table": rides,
              "--replace": "version",
              "--keep": "row,PULocationID,DOLocationID,trip_distance",
            }),
          );
          assert.equal(r.code, 0, r.stderr);
          const deleted = logLines(r.stderr).find((l) => l.msg === "deleted the earlier rows of this slice");
          assert.equal(deleted?.deleted, i === 0 ? 0 : 200, "the replace logs how many rows it deleted");
        }
        const [{ n }] = await sql.unsafe(`select count(*)::int as n from "${rides}"`);
        assert.equal(n, 200);
      },
    );
    await t.step("Postgres -> Parquet", async () => {
      const out = join(dir.path, "preds.parquet");
      const r = await score("--input", PG_URL, "--table", rides, "--output", out, "--keep", "row");
      assert.equal(r.code, 0, r.stderr);
      const source = await openSource(out);
      let n = 0;
      for await (const b of source.batches({ batchSize: 1000 })) n += b.length;
      assert.equal(n, 200);
      assert.deepEqual(source.columns.map((c) => c.name), ["row", "duration", "model_name", "model_version"]);
    });
    await t.step("Postgres -> CSV with a window, from DATABASE_URL", async () => {
      const out = join(dir.path, "preds.csv");
      const r = await runScore(
        [
          "batch",
          ...cliArgs({
            "--model": LINREG,
            "--no-progress": true,
            "--query": `select * from "${rides}" where $1::timestamptz < $2::timestamptz`,
          }),
          ...FEBRUARY,
          ...cliArgs({ "--output": out }),
        ],
        { env: { DATABASE_URL: PG_URL } },
      );
      assert.equal(r.code, 0, r.stderr);
      const lines = (await Deno.readTextFile(out)).trim().split("\n");
      assert.equal(lines[0], "duration,model_name,model_version,window_start,window_end,scored_at");
      assert.equal(lines.length, 201);
      assert.match(lines[1], /,2021-02-01T00:00:00\.000Z,2021-03-01T00:00:00\.000Z,/);
    });
  });
});

Deno.test("score batch postgres: identifiers are quoted, and names that break out are refused", async () => {
  const preds = `${randomName("Preds")} "x"`;
  await withDb(["Rides Mixed", "Ride Predictions"], async ({ sql }, [rides, weird]) => {
    await sql.unsafe(
      `create table "${rides}" ("PU LocationID" bigint, "DOLocationID" bigint, "trip_distance" float8, "select" text)`,
    );
    await sql.unsafe(`insert into "${rides}" values (10, 50, 40, 'a')`);
    const missing = await score(
      ...cliArgs({
        "--input": PG_URL,
        "--table": rides,
        "--output": PG_URL,
        "--output-table": weird,
        "--replace": "none",
        "--keep": "select",
      }),
    );
    assert.equal(missing.code, 65, 'the model needs PULocationID: this table names it "PU LocationID"');
    assert.match(missing.stderr, /columns present: \\"PU LocationID\\"/);
    const renamed = await score(
      ...cliArgs({
        "--input": PG_URL,
        "--query": `select "PU LocationID" as "PULocationID", * from "${rides}"`,
        "--output": PG_URL,
        "--output-table": weird,
        "--replace": "none",
        "--keep": "select",
        "--rename": "duration=Duration (min)",
      }),
    );
    assert.equal(renamed.code, 0, renamed.stderr);
    const rows = await sql.unsafe(`select "select", "Duration (min)" from "${weird}"`);
    assert.equal(rows[0].select, "a");
    assert.ok(Math.abs((rows[0]["Duration (min)"] as number) - 26.43883355119793) < 1e-9);
    const refused = await score(
      ...cliArgs({
        "--input": PG_URL,
        "--table": rides,
        "--output": PG_URL,
        "--output-table": preds,
        "--replace": "none",
      }),
    );
    assert.equal(refused.code, 64);
    assert.match(refused.stderr, /output table name .* is refused: it holds a double quote/);
    const [{ n }] = await sql.unsafe(`select count(*)::int as n from pg_tables where tablename like 'Preds%'`);
    assert.equal(n, 0, "nothing was created");
  });
});

Deno.test("score batch postgres: each failure with its clear error and exit code", async (t) => {
  const cases: [string, string[], number, RegExp][] = [
    [
      "unreachable server",
      ["--input", "postgres://app:s3cret@127.0.0.1:1/rides", "--table", "rides", "--output", "-"],
      69,
      /Cannot reach Postgres at 127\.0\.0\.1:1, database \\"rides\\": connection refused/,
    ],
    [
      "unknown role (the credential failure a trusting test server gives)",
      ["--input", PG_URL.replace("postgres@", "no_such_role:s3cret@"), "--table", "rides", "--output", "-"],
      77,
      /refused user \\"no_such_role\\"/,
    ],
    [
      "missing database",
      ["--input", PG_URL.replace(/\/test$/, "/no_such_db"), "--table", "rides", "--output", "-"],
      66,
      /database \\"no_such_db\\" does not exist/,
    ],
    [
      "missing table",
      ["--input", PG_URL, "--table", "no_such_table", "--output", "-"],
      66,
      /relation \\"no_such_table\\" does not exist in Postgres at 127\.0\.0\.1:5432, database \\"test\\"/i,
    ],
    [
      "missing output table name",
      ["--input", PG_URL, "--table", "t", "--output", PG_URL],
      64,
      /A Postgres --output needs --output-table NAME/,
    ],
    [
      "query without Postgres input",
      ["--input", join(FIXTURES, "rides_small.csv"), "--query", "select 1", "--output", "-"],
      64,
      /--query and --table read from Postgres/,
    ],
    [
      "bad shard",
      ["--input", PG_URL, "--table", "t", "--shard", "3/2", "--shard-key", "id", "--output", "-"],
      64,
      /--shard \\"3\/2\\" is not of the form K\/N/,
    ],
    [
      "shard without key",
      ["--input", PG_URL, "--table", "t", "--shard", "1/2", "--output", "-"],
      64,
      /--shard needs --shard-key/,
    ],
    [
      "backfill without range",
      ["--input", PG_URL, "--table", "t", "--period", "day", "--backfill", "--output", "-"],
      64,
      /--backfill needs --period, --from and --to/,
    ],
    [
      "backfill to one file",
      [
        ...cliArgs({
          "--input": PG_URL,
          "--table": "t",
          "--period": "day",
          "--backfill": true,
          "--from": "2021-02-01",
          "--to": "2021-02-03",
          "--output": "out.csv",
        }),
      ],
      64,
      /needs \{window\} in its name/,
    ],
    [
      "--table with --period but no --time-column",
      ["--input", PG_URL, "--table", "t", "--period", "day", "--output", "-"],
      64,
      /--table with --period needs --time-column COLUMN/,
    ],
    [
      "bad --at",
      ["--input", PG_URL, "--table", "t", "--period", "day", "--at", "tomorrow", "--output", "-"],
      64,
      /--at \\"tomorrow\\" is not a timestamp/,
    ],
  ];
  for (const [name, args, code, message] of cases) {
    await t.step(name, async () => {
      const r = await score(...args);
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, message);
      assert.ok(!r.stderr.includes("s3cret"), "never the password");
    });
  }
  await t.step("--help explains the parameter order", async () => {
    const r = await runScore(["batch", "--help"]);
    assert.match(r.stdout.replace(/\s+/g, " "), /with --period, \$1 = window_start and \$2 = window_end/);
  });
});

Deno.test("score batch -> postgres: a NUL or a lone surrogate in a kept text value lands as U+FFFD, in the table and in the rejects' jsonb data", async () => {
  await using dir = await tempDir();
  const input = join(dir.path, "rides.jsonl");
  // JSON escapes: \u0000 is a NUL, \ud800 a lone high surrogate, \udc00 a lone low one.
  await Deno.writeTextFile(
    input,
    [
      String.raw`{"ride_id":"bad\u0000nul","PULocationID":10,"DOLocationID":50,"trip_distance":40}`,
      String.raw`{"ride_id":"lone\ud800high","PULocationID":10,"DOLocationID":50,"trip_distance":40}`,
      String.raw`{"ride_id":"ok","PULocationID":10,"DOLocationID":50,"trip_distance":40}`,
      String.raw`{"ride_id":"rej\u0000nul","PULocationID":10,"DOLocationID":50,"trip_distance":"x"}`,
      String.raw`{"ride_id":"rej\udc00low","PULocationID":10,"DOLocationID":50,"trip_distance":"x"}`,
    ].join("\n") + "\n",
  );
  await withDb(["preds_nul", "rejects_nul"], async ({ sql }, [preds, rejects]) => {
    const run = await score(
      ...cliArgs({ "--input": input }),
      ...FEBRUARY,
      ...intoTables(preds, rejects),
    );
    assert.equal(run.code, 0, run.stderr);
    const rows = await sql.unsafe(`select ride_id from "${preds}" order by ride_id`);
    assert.deepEqual(rows.map((r) => r.ride_id), ["bad\uFFFDnul", "lone\uFFFDhigh", "ok"]);
    const bad = await sql.unsafe(`select data from "${rejects}" order by row`);
    assert.deepEqual(bad.map((r) => (r.data as Record<string, unknown>).ride_id), ["rej\uFFFDnul", "rej\uFFFDlow"]);
  });
});

Deno.test("score batch file -> postgres without --period: --replace must be chosen; none appends, version replaces", async (t) => {
  await using dir = await tempDir();
  const day1 = join(dir.path, "day1.csv");
  const day2 = join(dir.path, "day2.csv");
  await Deno.writeTextFile(day1, "ride_id,PULocationID,DOLocationID,trip_distance\nd1-a,10,50,40\nd1-b,130,205,3.66\n");
  await Deno.writeTextFile(day2, "ride_id,PULocationID,DOLocationID,trip_distance\nd2-a,10,50,4\n");
  await withDb(["preds_daily", "preds_windowed"], async ({ sql }, [preds, windowed]) => {
    const into = (file: string, ...more: string[]) =>
      score("--input", file, "--output", PG_URL, "--output-table", preds, "--keep", "ride_id", ...more);
    const ids = async () => (await sql.unsafe(`select ride_id from "${preds}" order by 1`)).map((r) => r.ride_id);
    await t.step("no --period and no --replace: refused before anything is written", async () => {
      const r = await into(day1);
      assert.equal(r.code, 64);
      assert.match(r.stderr, /--replace version .*--replace none/);
      const [{ t: exists }] = await sql.unsafe(`select to_regclass($1) is not null as t`, [`"${preds}"`]);
      assert.equal(exists, false);
    });
    await t.step("--replace none: daily files append, day 1 stays", async () => {
      assert.equal((await into(day1, "--replace", "none")).code, 0);
      assert.equal((await into(day2, "--replace", "none")).code, 0);
      assert.deepEqual(await ids(), ["d1-a", "d1-b", "d2-a"]);
    });
    await t.step("SCORE_REPLACE=version: a rerun replaces every row of the model version", async () => {
      const r = await runScore(
        [
          "batch",
          ...cliArgs({
            "--model": LINREG,
            "--no-progress": true,
            "--input": day2,
            "--output": PG_URL,
            "--output-table": preds,
            "--keep": "ride_id",
          }),
        ],
        { env: { SCORE_REPLACE: "version" } },
      );
      assert.equal(r.code, 0, r.stderr);
      const deleted = logLines(r.stderr).find((l) => l.msg === "deleted the earlier rows of this slice");
      assert.equal(deleted?.deleted, 3);
      assert.deepEqual(await ids(), ["d2-a"]);
    });
    await t.step("--replace window needs --period; --replace version refuses --period", async () => {
      const w = await into(day1, "--replace", "window");
      assert.equal(w.code, 64);
      assert.match(w.stderr, /--replace window needs --period/);
      const v = await into(day1, "--replace", "version", ...FEBRUARY);
      assert.equal(v.code, 64);
      assert.match(v.stderr, /with --period use --replace window/);
      assert.deepEqual(await ids(), ["d2-a"]);
    });
    await t.step("--period with --replace none appends to the window", async () => {
      for (let i = 0; i < 2; i++) {
        const r = await score(
          ...cliArgs({ "--input": day1 }),
          ...FEBRUARY,
          ...cliArgs({ "--output": PG_URL, "--output-table": windowed, "--replace": "none" }),
        );
        assert.equal(r.code, 0, r.stderr);
      }
      const [{ n }] = await sql.unsafe(`select count(*)::int as n from "${windowed}" where window_start is not null`);
      assert.equal(n, 4);
    });
  });
});
