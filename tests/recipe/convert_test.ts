/**
 * `models/recipe/convert.py --pickle` on course-style pickles trained here with
 * Debian's scikit-learn: the converted model, loaded by `score`, predicts what
 * sklearn predicts on the same rows; what it cannot convert is refused by name.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadModel } from "../../src/model/mod.ts";
import { ROOT, runScore, tempDir } from "../helpers.ts";

const PYTHON = "/usr/bin/python3";
const CONVERT = join(ROOT, "models", "recipe", "convert.py");

/** Whether Debian's python3-sklearn and python3-onnx are installed (CI installs them). */
const HAVE_SKLEARN = (() => {
  try {
    return new Deno.Command(PYTHON, { args: ["-c", "import sklearn, onnx, numpy"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();
const IGNORE = !HAVE_SKLEARN;
if (IGNORE) {
  console.warn(
    "convert_test: skipped, /usr/bin/python3 lacks sklearn/onnx (apt-get install python3-sklearn python3-onnx)",
  );
}

async function python(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(PYTHON, { args, stdout: "piped", stderr: "piped", cwd: ROOT }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

interface Expected {
  predict: (number | string | boolean)[];
  classes?: (number | string | boolean)[];
  proba?: number[][];
}

type Row = Record<string, string | number>;

function columnsOf(rows: Row[]): Record<string, (string | number)[]> {
  return Object.fromEntries(Object.keys(rows[0]).map((k) => [k, rows.map((r) => r[k])]));
}

function assertNear(got: number, want: number, what: string) {
  assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${what}: ${got} != ${want}`);
}

Deno.test({
  name: "convert.py --pickle: a course-style pickle becomes a model that predicts what sklearn predicts",
  ignore: IGNORE,
  fn: async (t) => {
    await using dir = await tempDir();
    const made = await python([join(ROOT, "tests", "recipe", "course_style_pickles.py"), dir.path]);
    assert.equal(made.code, 0, made.stderr);
    const rows: Row[] = JSON.parse(await Deno.readTextFile(join(dir.path, "rows.json")));
    const expected: Record<string, Expected> = JSON.parse(await Deno.readTextFile(join(dir.path, "expected.json")));
    const cases = [
      "linreg",
      "ridge_pipeline",
      "logreg_binary",
      "logreg_three",
      "logreg_bool",
      "logreg_ovr",
      "rf_pipeline",
      "tree",
      "rf_binary",
      "extra_three",
    ];
    assert.deepEqual(Object.keys(expected).sort(), [...cases].sort());
    for (const name of cases) {
      await t.step(name, async () => {
        const out = join(dir.path, `model-${name}`);
        const run = await python([CONVERT, "--pickle", join(dir.path, `${name}.bin`), "--out", out, "--target", "y"]);
        assert.equal(run.code, 0, run.stderr);
        const manifest = JSON.parse(await Deno.readTextFile(join(out, "model.json")));
        assert.equal(manifest.name, `model-${name}`);
        assert.deepEqual(Object.keys(manifest.inputs), ["city", "color", "n", "x"]);
        const model = await loadModel(out);
        try {
          const p = await model.predict(columnsOf(rows), rows.length);
          assert.equal(p.rejects.length, 0);
          const want = expected[name];
          // the last row has a color and a city the DictVectorizer never saw: they count as nothing
          if (want.classes === undefined) {
            want.predict.forEach((w, i) => assertNear(Number(p.columns.y[i]), w as number, `${name} row ${i}`));
            return;
          }
          assert.deepEqual(
            Array.from(
              p.columns.y as ArrayLike<unknown>,
              (v, i) => typeof v === "bigint" ? Number(v) : typeof want.predict[i] === "boolean" ? Boolean(v) : v,
            ),
            want.predict,
          );
          if (want.classes.length === 2) {
            want.proba!.forEach((w, i) =>
              assertNear(Number(p.columns.y_probability[i]), w[1], `${name} row ${i} probability`)
            );
          } else {
            assert.deepEqual(manifest.outputs.y_probability.labels, want.classes.map((c) => `y_probability_${c}`));
            want.proba!.forEach((w, i) =>
              w.forEach((pc, c) =>
                assertNear(Number(p.columns[`y_probability_${want.classes![c]}`][i]), pc, `${name} row ${i} class ${c}`)
              )
            );
          }
        } finally {
          await model.close();
        }
      });
    }

    await t.step("--join builds a key from other columns in the graph; --name, --description, --version", async () => {
      const out = join(dir.path, "joined");
      const run = await python([
        CONVERT,
        "--pickle",
        join(dir.path, "linreg.bin"),
        "--out",
        out,
        "--join",
        "city=town,district:int64",
        "--join-separator",
        " ",
        "--name",
        "my-model",
        "--description",
        "mine",
        "--version",
        "v1",
      ]);
      assert.equal(run.code, 0, run.stderr);
      const manifest = JSON.parse(await Deno.readTextFile(join(out, "model.json")));
      assert.deepEqual(
        [manifest.name, manifest.description, manifest.version, Object.keys(manifest.inputs)],
        ["my-model", "mine", "v1", ["town", "district", "color", "n", "x"]],
      );
      const model = await loadModel(out);
      try {
        const split = rows.map((r) => {
          const [town, district] = String(r.city).split(" ");
          return { town, district: Number(district), color: r.color, n: r.n, x: r.x };
        });
        const p = await model.predict(columnsOf(split), split.length);
        expected.linreg.predict.forEach((w, i) => assertNear(Number(p.columns.prediction[i]), w as number, `row ${i}`));
      } finally {
        await model.close();
      }
    });

    await t.step("what it cannot convert is refused, naming the class and what is supported", async () => {
      for (
        const [name, what] of [
          [
            "scaler_pipeline",
            "cannot convert the StandardScaler (sklearn.preprocessing._data), step 2 of the Pipeline",
          ],
          ["boosting", "cannot convert the GradientBoostingRegressor (sklearn.ensemble._gb), step 2 of the tuple"],
          ["rows.json", "cannot be unpickled"],
          ["missing.bin", "no such file"],
        ]
      ) {
        const file = name.includes(".") ? name : `${name}.bin`;
        const out = join(dir.path, `refused-${name}`);
        const run = await python([CONVERT, "--pickle", join(dir.path, file), "--out", out]);
        assert.equal(run.code, 1, name);
        assert.ok(run.stderr.startsWith(`convert.py: ${join(dir.path, file)}: ${what}`), run.stderr);
        if (name !== "rows.json" && name !== "missing.bin") {
          assert.match(run.stderr, /followed directly by one of: LinearRegression, .*RandomForestClassifier/);
        }
        await assert.rejects(Deno.stat(out), Deno.errors.NotFound, `${name}: nothing written`);
      }
      const bad = await python([
        CONVERT,
        "--pickle",
        join(dir.path, "linreg.bin"),
        "--out",
        dir.path + "/x",
        "--join",
        "PU_DO=a,b",
      ]);
      assert.equal(bad.code, 1);
      assert.match(
        bad.stderr,
        /--join PU_DO: the DictVectorizer has no category key 'PU_DO' \(category keys: city, color\)/,
      );
    });
  },
});

Deno.test({
  name: "convert.py --pickle: the converted model scores through score batch",
  ignore: IGNORE,
  fn: async () => {
    await using dir = await tempDir();
    const made = await python([join(ROOT, "tests", "recipe", "course_style_pickles.py"), dir.path]);
    assert.equal(made.code, 0, made.stderr);
    const out = join(dir.path, "churn-like");
    assert.equal(
      (await python([CONVERT, "--pickle", join(dir.path, "logreg_binary.bin"), "--out", out, "--target", "churn"]))
        .code,
      0,
    );
    const rows: Row[] = JSON.parse(await Deno.readTextFile(join(dir.path, "rows.json")));
    const input = join(dir.path, "rows.jsonl");
    await Deno.writeTextFile(input, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const run = await runScore(["batch", "--model", out, "--input", input, "--output", "-"]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const expected: Record<string, Expected> = JSON.parse(await Deno.readTextFile(join(dir.path, "expected.json")));
    assert.deepEqual(lines.map((l) => l.churn), expected.logreg_binary.predict);
    lines.forEach((l, i) => assertNear(l.churn_probability, expected.logreg_binary.proba![i][1], `row ${i}`));
  },
});
