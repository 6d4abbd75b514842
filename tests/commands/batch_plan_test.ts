/**
 * `score batch`'s flags into a plan, without I/O (but the input's size, for where the model runs): every combination that
 * must fail names the flags to change; good ones resolve to what a
 * window's job needs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type BatchFlags,
  modelWorker,
  planBatch,
  SMALL_INPUT_BYTES,
  smallInput,
  windowPath,
} from "../../src/commands/batch_plan.ts";
import { tempDir } from "../helpers.ts";

const BASE: BatchFlags = {
  model: "m",
  cacheDir: "",
  maxErrors: -1,
  batchSize: 10_000,
  progress: false,
  threads: 1,
  graphOptimization: "all",
  modelTimeout: 300,
  modelMaxBytes: 2 ** 31,
};
const PG = "postgres://app@db:5432/rides";

/** The plan of a daily backfill of a CSV from 2021-02-01 up to `to`, a file per window. */
function dailyBackfill(to: string) {
  return planBatch({
    ...BASE,
    input: "i.csv",
    output: "out/{window}.csv",
    backfill: true,
    period: "day",
    from: "2021-02-01",
    to,
  });
}

Deno.test("planBatch refuses what cannot run, naming the flags", async (t) => {
  const cases: [string, Partial<BatchFlags>, RegExp][] = [
    ["no input", { output: "o.csv" }, /--input is required/],
    ["no output", { input: "i.csv" }, /--output is required/],
    ["a Postgres input without SQL", { input: PG, output: "o.csv" }, /needs --query SQL or --table NAME/],
    [
      "SQL with a file input",
      { input: "i.csv", query: "select 1", output: "o.csv" },
      /--query and --table read from Postgres/,
    ],
    ["both --query and --table", { input: PG, query: "select 1", table: "t", output: "o.csv" }, /not both/],
    ["--time-column without --table", { input: PG, query: "q", timeColumn: "t", output: "o.csv" }, /goes with --table/],
    ["--output-table with a file", { input: "i.csv", output: "o.csv", outputTable: "t" }, /--output-table goes with/],
    ["a Postgres output without a table", { input: "i.csv", output: PG }, /needs --output-table NAME/],
    [
      "--shard with a file input",
      { input: "i.csv", output: "o.csv", shard: "1/2", shardKey: "id" },
      /needs a Postgres --input/,
    ],
    ["--backfill without a range", { input: "i.csv", output: "o.csv", backfill: true }, /--period, --from and --to/],
    [
      "--backfill into one file",
      { input: "i.csv", output: "o.csv", backfill: true, period: "day", from: "2021-02-01", to: "2021-02-03" },
      /needs \{window\} in its name/,
    ],
    ["--from without --backfill", { input: "i.csv", output: "o.csv", from: "2021-02-01" }, /go with --backfill/],
    [
      "a Postgres table without --period or --replace",
      { input: "i.csv", output: PG, outputTable: "preds" },
      /choose what a rerun replaces/,
    ],
    ["--replace window without --period", { input: "i.csv", output: "o.csv", replace: "window" }, /needs --period/],
    [
      "predictions and rejects both to standard output",
      { input: "i.csv", output: "-", rejects: "-" },
      /share standard/,
    ],
  ];
  for (const [name, flags, message] of cases) {
    await t.step(name, () => assert.throws(() => planBatch({ ...BASE, ...flags }), message));
  }
});

Deno.test("planBatch resolves what a window's job needs", async (t) => {
  await t.step("a file job: one run, nothing replaced", () => {
    const plan = planBatch({ ...BASE, input: "i.csv", output: "o.parquet", keep: ["ride_id"] });
    assert.deepEqual(
      [plan.windows, plan.replace, plan.pgInput, plan.pgOutput, plan.keep, plan.sharedTransaction, plan.worker],
      [[undefined], "none", false, false, ["ride_id"], false, "auto"],
    );
  });
  await t.step("a period: the previous whole day, replaced on a rerun", () => {
    const plan = planBatch({ ...BASE, input: "i.csv", output: "o.csv", period: "day", at: "2021-02-02T10:00:00Z" });
    assert.equal(plan.replace, "window");
    assert.deepEqual(plan.windows.map((w) => [w!.start.toISOString(), w!.end.toISOString()]), [[
      "2021-02-01T00:00:00.000Z",
      "2021-02-02T00:00:00.000Z",
    ]]);
  });
  await t.step("a backfill: one window per period of the range", () => {
    const plan = dailyBackfill("2021-02-04");
    assert.equal(plan.windows.length, 3);
  });
  await t.step("a shard of a Postgres job keeps its key in the output and shares one transaction", () => {
    const plan = planBatch({
      ...BASE,
      input: PG,
      query: "select * from rides",
      output: PG,
      outputTable: "preds",
      rejects: PG,
      rejectsTable: "rejects",
      replace: "version",
      shard: "1/4",
      shardKey: "ride_id",
      param: [["since", "2021-02-01"]],
    });
    assert.deepEqual(
      [plan.pgInput, plan.pgOutput, plan.keep, plan.params, plan.sharedTransaction, plan.replace, plan.worker],
      [true, true, ["ride_id"], ["2021-02-01"], true, "version", true],
    );
    assert.deepEqual([plan.shard?.index, plan.shard?.count, plan.shard?.key], [1, 4, "ride_id"]);
  });
  await t.step("the flags naming files, for checkDistinctFiles: not -, not Postgres", async (t) => {
    const cases: [string, Partial<BatchFlags>, [string, string][]][] = [
      [
        "three files",
        { input: "i.csv", output: "o.csv", rejects: "r.csv" },
        [["--input", "i.csv"], ["--output", "o.csv"], ["--rejects", "r.csv"]],
      ],
      ["stdin and stdout", { input: "-", output: "-", rejects: "r.csv" }, [["--rejects", "r.csv"]]],
      [
        "Postgres in and out",
        { input: PG, table: "rides", output: PG, outputTable: "p", replace: "none", rejects: "r.csv" },
        [["--rejects", "r.csv"]],
      ],
      [
        "a Postgres URL read as a file by its format",
        { input: "i.csv", output: PG, outputFormat: "csv" },
        [["--input", "i.csv"], ["--output", PG]],
      ],
    ];
    for (const [name, flags, files] of cases) {
      await t.step(name, () => {
        const plan = planBatch({ ...BASE, ...flags });
        assert.deepEqual(plan.files.map((f) => [f.flag, f.path]), files);
      });
    }
  });
  await t.step("windowPath: {window} becomes the window's label", () => {
    const plan = dailyBackfill("2021-02-03");
    assert.deepEqual(plan.windows.map((w) => windowPath(plan, w, "out/{window}.csv")), [
      "out/2021-02-01.csv",
      "out/2021-02-02.csv",
    ]);
    assert.equal(windowPath(planBatch({ ...BASE, input: "i.csv", output: "o.csv" }), undefined, "o.csv"), "o.csv");
  });
  await t.step("without a URL, --query reads the database of DATABASE_URL / PG*", () => {
    const plan = planBatch({ ...BASE, query: "select 1", output: "o.csv" });
    assert.deepEqual([plan.input, plan.pgInput], ["postgres:", true]);
  });
});

/** A one-row CSV and a CSV just past SMALL_INPUT_BYTES, in `dir`. */
async function sizedInputs(dir: string): Promise<{ small: string; large: string }> {
  const small = join(dir, "one.csv");
  await Deno.writeTextFile(small, "ride_id,trip_distance\n1,3.66\n");
  const large = join(dir, "large.csv");
  await Deno.writeTextFile(large, "ride_id,trip_distance\n" + "1,3.66\n".repeat(SMALL_INPUT_BYTES / 7 + 1));
  return { small, large };
}

Deno.test("smallInput: a local file up to SMALL_INPUT_BYTES; unknown for Postgres, stdin, a file not there", async (t) => {
  await using dir = await tempDir();
  const { small, large } = await sizedInputs(dir.path);
  const cases: [string, string, boolean, boolean | undefined][] = [
    ["a one-row CSV", small, false, true],
    ["a file past the size", large, false, false],
    ["stdin", "-", false, undefined],
    ["Postgres", PG, true, undefined],
    ["a file that is not there", join(dir.path, "no.csv"), false, undefined],
    ["a folder", dir.path, false, undefined],
  ];
  for (const [name, input, pgInput, expected] of cases) {
    await t.step(name, async () => assert.equal(await smallInput(input, pgInput), expected));
  }
});

Deno.test("modelWorker: a small local file is scored on the job's thread, any other input as planned", async (t) => {
  await using dir = await tempDir();
  const { small, large } = await sizedInputs(dir.path);
  const cases: [string, Partial<BatchFlags>, boolean | "auto"][] = [
    ["a one-row CSV", { input: small, output: "o.csv" }, false],
    ["a one-row CSV into Postgres", { input: small, output: PG, outputTable: "p", replace: "none" }, false],
    ["a file past the size", { input: large, output: "o.csv" }, "auto"],
    ["a file past the size into Postgres", { input: large, output: PG, outputTable: "p", replace: "none" }, true],
    ["stdin", { input: "-", output: "o.csv" }, "auto"],
    ["Postgres", { input: PG, query: "select 1", output: "o.csv" }, true],
    [
      "a file that is not there (the source's error to report)",
      { input: join(dir.path, "no.csv"), output: "o.csv" },
      "auto",
    ],
  ];
  for (const [name, flags, expected] of cases) {
    await t.step(name, async () => {
      assert.equal(await modelWorker(planBatch({ ...BASE, ...flags })), expected);
    });
  }
});
