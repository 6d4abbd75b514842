/**
 * `score profile` as a user runs it: a reference profile of the model's
 * inputs and predictions from a file, equal to what the rows and `score
 * batch`'s predictions give; flags and variables; usage errors.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CategoricalProfile, DatasetProfile, NumericProfile } from "../../src/monitor/mod.ts";
import { cliArgs, logLines, runScore, tempDir } from "../helpers.ts";

const HEADER = "PULocationID,DOLocationID,trip_distance";
const ROWS = [
  "74,75,1.5",
  "74,42,3.25",
  "41,75,",
  "7,74,10",
  "74,75,0.8",
  "41,42,2.2",
];

/** Runs `score profile` of the linear ride model over `input`, the `categorical` columns so, into `output`. */
function runProfile(input: string, categorical: string, output: string) {
  return runScore([
    "profile",
    ...cliArgs({
      "--model": "ride-duration-linreg",
      "--input": input,
      "--categorical": categorical,
      "--output": output,
      "--no-progress": true,
    }),
  ]);
}

Deno.test("score profile: a reference of inputs and predictions", async (t) => {
  await using dir = await tempDir();
  const input = join(dir.path, "rides.csv");
  await Deno.writeTextFile(input, `${HEADER}\n${ROWS.join("\n")}\n`);

  await t.step(
    "each input column and the prediction, as the rows and score batch's predictions give them",
    async () => {
      const output = join(dir.path, "reference.json");
      const run = await runProfile(input, "PULocationID,DOLocationID", output);
      assert.equal(run.code, 0, run.stderr);
      const done = logLines(run.stderr).find((l) => l.msg === "profile done")!;
      assert.deepEqual([done.read, done.predicted, done.rejected, done.columns], [6, 5, 1, 4]);
      const profile = DatasetProfile.fromJSON(JSON.parse(await Deno.readTextFile(output)));
      assert.deepEqual(profile.model, { name: "ride-duration-linreg", version: "9bceaa0ed43a" });
      assert.deepEqual(profile.specs, [
        { name: "PULocationID", role: "input", kind: "categorical" },
        { name: "DOLocationID", role: "input", kind: "categorical" },
        { name: "trip_distance", role: "input", kind: "numeric" },
        { name: "duration", role: "output", kind: "numeric" },
      ]);
      const pu = profile.columns.get("PULocationID")!.profile as CategoricalProfile;
      assert.deepEqual(pu.toJSON().counts, [["74", 3], ["41", 2], ["7", 1]]);
      const distance = profile.columns.get("trip_distance")!.profile as NumericProfile;
      const distances = [1.5, 3.25, 10, 0.8, 2.2];
      const mean = distances.reduce((a, b) => a + b) / 5;
      assert.deepEqual([distance.rows, distance.missing, distance.min, distance.max], [6, 1, 0.8, 10]);
      assert(Math.abs(distance.mean - mean) < 1e-12);
      const std = Math.sqrt(distances.reduce((a, b) => a + (b - mean) ** 2, 0) / 5);
      assert(Math.abs(distance.std! - std) < 1e-12);

      const batch = await runScore(["batch", "--model", "ride-duration-linreg", "--input", input, "--output", "-"]);
      const predicted = batch.stdout.trim().split("\n").map((l) => JSON.parse(l).duration as number);
      const duration = profile.columns.get("duration")!.profile as NumericProfile;
      assert.deepEqual(Array.from(duration.sketch.weighted().values), [...predicted].sort((a, b) => a - b));
      assert.deepEqual([duration.rows, duration.missing], [5, 0]);
    },
  );

  await t.step("SCORE_PROFILE_OUTPUT and SCORE_CATEGORICAL stand for the flags; - writes to stdout", async () => {
    const run = await runScore(["profile", "--model", "ride-duration-linreg", "--input", input, "--no-progress"], {
      env: { SCORE_PROFILE_OUTPUT: "-", SCORE_CATEGORICAL: "DOLocationID" },
    });
    assert.equal(run.code, 0, run.stderr);
    const kinds = JSON.parse(run.stdout).columns.map((c: { kind: string }) => c.kind);
    assert.deepEqual(kinds, ["numeric", "categorical", "numeric", "numeric"]);
  });

  await t.step("a --categorical column the model has not: exit 64, naming it and the model's columns", async () => {
    const run = await runProfile(input, "PULocationId", join(dir.path, "never.json"));
    assert.equal(run.code, 64);
    assert.match(run.stderr, /--categorical: model \\"ride-duration-linreg\\" has no column \\"PULocationId\\"/);
    assert.match(
      run.stderr,
      /its columns: \\"PULocationID\\", \\"DOLocationID\\", \\"trip_distance\\", \\"duration\\"/,
    );
    await assert.rejects(Deno.stat(join(dir.path, "never.json")), Deno.errors.NotFound);
  });
  await t.step("the input flags are score batch's: its checks and messages, exit 64", async (t) => {
    const cases: [string, Record<string, string>, RegExp][] = [
      ["no input", {}, /--input is required \(a file, or postgres:\/\/... with --query or --table\)/],
      ["SQL with a file input", { "--input": input, "--query": "select 1" }, /--query and --table read from Postgres/],
      ["a Postgres input without SQL", { "--input": "postgres://u@h/db" }, /needs --query SQL or --table NAME/],
      ["both --query and --table", { "--query": "select 1", "--table": "t" }, /Give --query or --table, not both/],
    ];
    for (const [name, flags, message] of cases) {
      await t.step(name, async () => {
        const output = join(dir.path, "never.json");
        const run = await runScore([
          "profile",
          ...cliArgs({ "--model": "ride-duration-linreg", "--output": output, ...flags }),
        ]);
        assert.equal(run.code, 64, run.stderr);
        assert.match(run.stderr, message);
        await assert.rejects(Deno.stat(output), Deno.errors.NotFound);
      });
    }
  });
  await t.step("--output naming the input: exit 64 before anything is read, the input kept", async () => {
    const run = await runProfile(input, "PULocationID", join(dir.path, ".", "rides.csv"));
    assert.equal(run.code, 64, run.stderr);
    assert.match(run.stderr, /--input and --output name the same file/);
    assert.equal(await Deno.readTextFile(input), `${HEADER}\n${ROWS.join("\n")}\n`);
  });
});
