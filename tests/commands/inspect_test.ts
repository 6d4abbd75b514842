/**
 * `score inspect` as a user runs it: text, `--json`, `--help`, usage
 * errors; its CSV header feeds `score batch`; `--write-manifest` writes a
 * manifest that loads to the same model and never overwrites one unasked.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { manifestSkeleton, type ModelDescription } from "../../src/inspect/mod.ts";
import { FIXTURES, logLines, MODELS, runScore, tempDir } from "../helpers.ts";
import { describe } from "../inspect/describe.ts";

const REAL_EXPORTS = join(FIXTURES, "real-exports");

Deno.test("score inspect: text, --json, and the CSV header feeds score batch", async (t) => {
  await using dir = await tempDir();
  await t.step("text names inputs, outputs, the header and both curl commands", async () => {
    const run = await runScore(["inspect", join(REAL_EXPORTS, "lgbm_iris_zipmap"), "--url", "http://127.0.0.1:8080"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^model {8}lgbm_iris_zipmap$/m);
    assert.match(run.stdout, /^ {2}X +float32 +\[N,4\] +X_0, X_1, X_2, X_3 \(or a list of 4 under "X"\)$/m);
    assert.match(run.stdout, /ZipMap rewritten, labels 0, 1, 2$/m);
    assert.match(run.stdout, /^ {2}X_0,X_1,X_2,X_3$/m);
    assert.match(
      run.stdout,
      /^ {2}curl -s http:\/\/127\.0\.0\.1:8080\/predict -H 'content-type: application\/json' -d '\{"X_0":0\.5,"X_1":0\.5,"X_2":0\.5,"X_3":0\.5\}'$/m,
    );
    assert.match(run.stdout, /curl -s http:\/\/127\.0\.0\.1:8080\/v2\/models\/lgbm_iris_zipmap\/infer /);
  });
  for (const name of ["skl_coltrans_car_price", "torch_house_fixed1", "lgbm_iris_zipmap"]) {
    await t.step(`--json (SCORE_JSON) of ${name}: its header and example row scored by score batch`, async () => {
      const model = join(REAL_EXPORTS, name);
      const run = await runScore(["inspect", model], { env: { SCORE_JSON: "1" } });
      assert.equal(run.code, 0, run.stderr);
      const d: ModelDescription = JSON.parse(run.stdout);
      assert.deepEqual(d, { ...await describe(model), path: join(model, "model.onnx") });
      const csv = join(dir.path, `${name}.csv`);
      const values = d.columns.map((c) => String(d.exampleRow[c]));
      await Deno.writeTextFile(csv, `${d.csvHeader}\n${values.join(",")}\n${values.join(",")}\n`);
      const batch = await runScore(["batch", "--model", model, "--input", csv, "--output", "-"]);
      assert.equal(batch.code, 0, batch.stderr);
      assert.equal(batch.stdout.trim().split("\n").length, 2);
      const done = logLines(batch.stderr).find((l) => l.msg === "batch done")!;
      assert.deepEqual([done.predicted, done.rejected], [2, 0]);
    });
  }
  await t.step(
    "text: labels read off a classifier without a ZipMap, known categories and a real one in the example",
    async () => {
      const svc = await runScore(["inspect", join(FIXTURES, "models", "byom", "svc_strings")]);
      assert.equal(svc.code, 0, svc.stderr);
      assert.match(
        svc.stdout,
        /^ {2}probabilities +float32 +\[N,3\] +probabilities_cat, probabilities_dog, probabilities_bird; labels \(from the SVMClassifier\) cat, dog, bird$/m,
      );
      const car = await runScore(["inspect", join(REAL_EXPORTS, "skl_coltrans_used_car_linreg")]);
      assert.equal(car.code, 0, car.stderr);
      assert.match(
        car.stdout,
        /^known categories \(what the model's encoders list; --strict-categories rejects any other\)$/m,
      );
      assert.match(car.stdout, /^ {2}Owner +"first", "second"$/m);
      assert.match(car.stdout, /^ {2}model +" Wagon R", "1 Series", .*, … \(403 more; --json lists all\)$/m);
      assert.match(car.stdout, /-d '\{"Brand":"Ambassador","model":" Wagon R","Transmission":"Automatic"/);
    },
  );
  for (const name of ["svc_strings", "onehot"]) {
    await t.step(`--json of ${name} equals the description`, async () => {
      const model = join(FIXTURES, "models", "byom", name);
      const run = await runScore(["inspect", model, "--json"]);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout), { ...await describe(model), path: join(model, "model.onnx") });
    });
  }
  await t.step("--help, and a usage error without a model", async () => {
    const help = await runScore(["inspect", "--help"]);
    assert.equal(help.code, 0);
    for (const flag of ["--json", "--url", "--write-manifest", "--force", "SCORE_URL", "SCORE_MODEL"]) {
      assert.ok(help.stdout.includes(flag), flag);
    }
    const none = await runScore(["inspect"]);
    assert.equal(none.code, 64);
    assert.match(none.stderr, /Which model\? score inspect MODEL/);
    const missing = await runScore(["inspect", join(dir.path, "nope")]);
    assert.equal(missing.code, 66, missing.stderr);
  });
});

Deno.test("score inspect --write-manifest: a skeleton that loads to the same model, never overwritten unasked", async (t) => {
  await using dir = await tempDir();
  const sources = [
    ...["lgbm_iris_zipmap", "skl_coltrans_used_car_linreg", "torch_multi_io"].map((n) => join(REAL_EXPORTS, n)),
    ...["svc_strings", "onehot"].map((n) => join(FIXTURES, "models", "byom", n)),
  ];
  for (const source of sources) {
    const name = source.slice(source.lastIndexOf("/") + 1);
    await t.step(name, async () => {
      const folder = join(dir.path, name);
      await Deno.mkdir(folder);
      await Deno.copyFile(join(source, "model.onnx"), join(folder, "model.onnx"));
      const before = await describe(folder);
      const run = await runScore(["inspect", folder, "--write-manifest"]);
      assert.equal(run.code, 0, run.stderr);
      const written = JSON.parse(await Deno.readTextFile(join(folder, "model.json")));
      assert.deepEqual(written, manifestSkeleton(before));
      assert.deepEqual(Object.keys(written.inputs), before.inputs.map((i) => i.name));
      assert.deepEqual(await describe(folder), before);

      // edited, it changes what score reads
      const vector = before.inputs.find((i) => i.list);
      if (vector !== undefined) {
        written.inputs[vector.name].columns = vector.columns.map((_, k) => `feature_${k}`);
        await Deno.writeTextFile(join(folder, "model.json"), JSON.stringify(written));
        const edited = await describe(folder);
        assert.deepEqual(
          edited.inputs.find((i) => i.name === vector.name)!.columns,
          vector.columns.map((_, k) => `feature_${k}`),
        );
      }
      const kept = await Deno.readTextFile(join(folder, "model.json"));
      const again = await runScore(["inspect", folder, "--write-manifest"]);
      assert.equal(again.code, 64);
      assert.match(again.stderr, /model\.json already exists; --force replaces it/);
      assert.equal(await Deno.readTextFile(join(folder, "model.json")), kept);
      const forced = await runScore(["inspect", folder, "--write-manifest", "--force"]);
      assert.equal(forced.code, 0, forced.stderr);
      assert.notEqual(await Deno.readTextFile(join(folder, "model.json")), vector === undefined ? "" : kept);
    });
  }
  await t.step("--force keeps what the model cannot tell: the version and the outputs' renames", async () => {
    const folder = join(dir.path, "renamed");
    await Deno.mkdir(folder);
    await Deno.copyFile(join(MODELS, "ride-duration-linreg", "model.onnx"), join(folder, "model.onnx"));
    await Deno.writeTextFile(
      join(folder, "model.json"),
      JSON.stringify({ version: "2024-05", outputs: { duration: { rename: "ride_duration" } } }),
    );
    const before = await describe(folder);
    assert.deepEqual([before.version, before.outputs[0].columns], ["2024-05", ["ride_duration"]]);
    const forced = await runScore(["inspect", folder, "--write-manifest", "--force"]);
    assert.equal(forced.code, 0, forced.stderr);
    const written = JSON.parse(await Deno.readTextFile(join(folder, "model.json")));
    assert.deepEqual([written.version, written.outputs.duration], ["2024-05", { rename: "ride_duration" }]);
    assert.deepEqual(await describe(folder), before);
  });
  await t.step("the skeleton of a classifier without a ZipMap, and of a model with known categories", async () => {
    const svc = JSON.parse(await Deno.readTextFile(join(dir.path, "svc_strings", "model.json")));
    assert.deepEqual(svc.outputs.probabilities, {
      labels: ["probabilities_cat", "probabilities_dog", "probabilities_bird"],
    });
    assert.equal(svc.strictCategories, undefined);
    const onehot = JSON.parse(await Deno.readTextFile(join(dir.path, "onehot", "model.json")));
    assert.equal(onehot.strictCategories, false);
  });
  await t.step("a bare .onnx file not named model.onnx is refused: no manifest would be read beside it", async () => {
    const file = join(dir.path, "bare.onnx");
    await Deno.copyFile(join(REAL_EXPORTS, "skl_double_demand_curve", "model.onnx"), file);
    const run = await runScore(["inspect", file, "--write-manifest"]);
    assert.equal(run.code, 64);
    assert.match(run.stderr, /--write-manifest needs a model directory or a file named model\.onnx/);
    await assert.rejects(Deno.stat(join(dir.path, "model.json")), Deno.errors.NotFound);
    const remote = await runScore(["inspect", "s3://models/rides/model.onnx", "--write-manifest"]);
    assert.equal(remote.code, 64);
    assert.match(
      remote.stderr,
      /--write-manifest writes beside a local model; \\"s3:\/\/models\/rides\/model\.onnx\\" is not on/,
    );
  });
});

Deno.test("score inspect and score batch take a model whose weights are external data, as its twin with them inside", async (t) => {
  await using dir = await tempDir();
  const external = join(FIXTURES, "models", "byom", "external_data");
  const embedded = join(FIXTURES, "models", "external_data", "embedded", "external_data");
  const csv = join(dir.path, "rows.csv");
  await Deno.writeTextFile(csv, "features_0,features_1,features_2,features_3\n1,2,3,4\n-0.5,0.25,8,-3\n");
  const predictions = async (model: string, cwd?: string) => {
    const run = await runScore(["batch", "--model", model, "--input", csv, "--output", "-"], { cwd });
    assert.equal(run.code, 0, run.stderr);
    return run.stdout.trim().split("\n").map((l) => JSON.parse(l).prediction);
  };
  const want = await predictions(embedded);
  for (
    const [what, model, cwd] of [["its folder", external, undefined], ["a bare file path", "model.onnx", external]]
  ) {
    await t.step(`${what}: inspect shows it, batch scores it`, async () => {
      const run = await runScore(["inspect", model!, "--json"], { cwd });
      assert.equal(run.code, 0, run.stderr);
      const d: ModelDescription = JSON.parse(run.stdout);
      assert.deepEqual(d.columns, ["features_0", "features_1", "features_2", "features_3"]);
      assert.deepEqual(await predictions(model!, cwd), want);
    });
  }
});
