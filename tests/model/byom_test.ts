import assert from "node:assert/strict";
import { join } from "node:path";
import { loadModel, type Model, ModelError } from "../../src/model/mod.ts";
import { rowsToColumns } from "../../src/rows.ts";
import {
  type ByomCase,
  directRun,
  packedRow,
  predictedRow,
  REAL_CASES,
  RECORDED,
  SYNTHETIC_CASES,
} from "../byom_cases.ts";
import { FIXTURES, rejection, tempDir } from "../helpers.ts";

const BYOM = join(FIXTURES, "models", "byom");

/** Scores rows given as objects. */
async function predictRows(model: Model, rows: Record<string, unknown>[]) {
  const p = await model.predict(rowsToColumns(rows), rows.length);
  assert.deepEqual(p.rejects, []);
  return p.columns;
}

/** Asserts our rows have exactly the bits onnxruntime returns run directly. */
async function assertSameBits(
  model: Model,
  rows: Record<string, unknown>[],
  columns: Record<string, ArrayLike<unknown>>,
) {
  const direct = await directRun(model, rows);
  for (let r = 0; r < rows.length; r++) {
    for (const [name, values] of predictedRow(model, columns, r)) {
      assert.deepEqual(values, direct.get(name)![r], `${model.name}: output "${name}" of row ${r}`);
    }
  }
}

for (const c of [...SYNTHETIC_CASES, ...REAL_CASES]) {
  Deno.test(`bring your own model: ${c.name} scores in every form with onnxruntime's bits`, async (t) => {
    const model = await loadModel(c.path);
    try {
      await t.step("rows as columns equal onnxruntime run directly", async () => {
        await assertSameBits(model, c.rows, await predictRows(model, c.rows));
      });
      await t.step("the array form of each [N,K] input gives the same bits", async () => {
        const packed = c.rows.map((row) => packedRow(model, row));
        await assertSameBits(model, c.rows, await predictRows(model, packed));
      });
      await t.step("rows of both forms in one batch, and each row alone, give the same bits", async () => {
        const mixed = c.rows.map((row, r) => (r % 2 === 0 ? packedRow(model, row) : row));
        await assertSameBits(model, c.rows, await predictRows(model, mixed));
        // A row scored alone (as /predict and consume score it) has its bits in the batch run directly.
        const direct = await directRun(model, c.rows);
        for (const [r, row] of c.rows.entries()) {
          const alone = predictedRow(model, await predictRows(model, [row]), 0);
          for (const [name, values] of alone) assert.deepEqual(values, direct.get(name)![r], `row ${r} alone: ${name}`);
        }
      });
      if (RECORDED[c.name]) await recordedStep(t, c, model);
    } finally {
      await model.close();
    }
  });
}

async function recordedStep(t: Deno.TestContext, c: ByomCase, model: Model) {
  await t.step("row 0 gives what onnxruntime gave when the export was collected", async () => {
    const columns = await predictRows(model, [c.rows[0]]);
    for (const [name, recorded] of Object.entries(RECORDED[c.name].outputs)) {
      const width = recorded.data.length / recorded.shape[0];
      const ours = predictedRow(model, columns, 0).get(name)!;
      assert.equal(ours.length, width, `${c.name}: ${name} has ${width} values per row`);
      for (let k = 0; k < width; k++) {
        const want = recorded.data[k];
        const got = ours[k];
        if (typeof want === "number") {
          assert.ok(
            Math.abs(Number(got) - want) <= 1e-5 * Math.max(1, Math.abs(want)),
            `${name}[${k}]: ${got} vs ${want}`,
          );
        } else assert.equal(got, want);
      }
    }
  });
}

Deno.test("ZipMap classifiers answer a label and one probability per class", async (t) => {
  const cases: [string, string[]][] = [
    ["zipmap_strings", ["setosa", "versicolor", "virginica"]],
    ["zipmap_int64", ["10", "20", "9007199254740993"]],
  ];
  for (const [name, labels] of cases) {
    await t.step(`${name}: labels from the ZipMap, probabilities a softmax of the linear scores`, async () => {
      const model = await loadModel(join(BYOM, name));
      try {
        const probs = model.outputs.find((o) => o.name === "output_probability")!;
        assert.deepEqual(probs.labels, labels);
        assert.deepEqual(probs.columns, labels.map((l) => `output_probability_${l}`));
        assert.deepEqual([probs.type, probs.shape], ["float32", ["", 3]]);
        const x = [[1, 2, 3], [3, -1, 0.5]];
        const columns = await predictRows(model, x.map((v) => ({ float_input: v })));
        // The fixture's LinearClassifier: coefficients row by class, then intercepts.
        const coef = [[1.0, -0.5, 0.25], [-1.0, 0.75, 0.5], [0.5, -0.25, -1.5]];
        const intercepts = [0.1, -0.2, 0.05];
        for (let r = 0; r < x.length; r++) {
          const scores = coef.map((w, k) => w.reduce((s, wi, i) => s + wi * Math.fround(x[r][i]), intercepts[k]));
          const e = scores.map((s) => Math.exp(s - Math.max(...scores)));
          const p = e.map((v) => v / e.reduce((a, b) => a + b));
          const ours = probs.columns.map((col) => Number(columns[col][r]));
          ours.forEach((v, k) => assert.ok(Math.abs(v - p[k]) < 1e-6, `row ${r} class ${k}: ${v} vs ${p[k]}`));
          const best = labels[p.indexOf(Math.max(...p))];
          assert.equal(String(columns.output_label[r]), best);
        }
      } finally {
        await model.close();
      }
    });
  }
  for (const c of REAL_CASES) {
    const model = await loadModel(c.path);
    const probs = model.outputs.find((o) => o.labels !== undefined);
    if (probs === undefined) {
      await model.close();
      continue;
    }
    await t.step(`${c.name}: probabilities sum to 1 and the label is the likeliest class`, async () => {
      try {
        const columns = await predictRows(model, c.rows);
        const label = model.outputs.find((o) => o !== probs && o.columns.length === 1)!;
        for (let r = 0; r < c.rows.length; r++) {
          const p: number[] = probs.columns.map((col) => Number(columns[col][r]));
          assert.ok(Math.abs(p.reduce((a, b) => a + b) - 1) < 1e-5);
          assert.equal(String(columns[label.columns[0]][r]), probs.labels![p.indexOf(Math.max(...p))]);
        }
      } finally {
        await model.close();
      }
    });
  }
});

Deno.test("fixed batch sizes, declared shapes that are wrong, a dynamic width", async (t) => {
  await t.step("a [1,K] model is detected and scores any number of rows, a run per row", async () => {
    const model = await loadModel(join(BYOM, "fixed_batch"));
    try {
      assert.equal(model.fixedBatch, 1);
      assert.deepEqual(model.inputs[0].fixedBatch, 1);
      const rows = Array.from({ length: 7 }, (_, i) => ({ x: [i, i / 2, -i] }));
      const columns = await predictRows(model, rows);
      assert.equal(columns.y.length, 7);
      assert.deepEqual(Array.from(columns.z_2 as Float32Array), rows.map((r) => -2 * r.x[0]));
    } finally {
      await model.close();
    }
  });
  await t.step("the real fixed-batch exports are detected", async () => {
    for (const name of ["torch_house_fixed1", "onnxmltools_onehot_int64_fixed1"]) {
      const model = await loadModel(REAL_CASES.find((c) => c.name === name)!.path);
      assert.equal(model.fixedBatch, 1, name);
      await model.close();
    }
  });
  await t.step("outputs follow the returned tensor: [N] that returns [N,2], [1] that returns [N]", async () => {
    const model = await loadModel(join(BYOM, "wrong_shape"));
    try {
      assert.deepEqual(model.outputColumns.map((c) => c.name), ["scores_0", "scores_1", "label"]);
      const columns = await predictRows(model, [{ x: [1, 2] }, { x: [5, -3] }, { x: [0, 9] }]);
      assert.deepEqual(Array.from(columns.scores_1 as Float32Array), [4, -6, 18]);
      assert.deepEqual(Array.from(columns.label as BigInt64Array), [1n, 0n, 1n]);
    } finally {
      await model.close();
    }
  });
  await t.step("the manifest's labels name the columns of an output", async () => {
    await using dir = await tempDir();
    await Deno.copyFile(join(BYOM, "wrong_shape", "model.onnx"), join(dir.path, "model.onnx"));
    await Deno.writeTextFile(
      join(dir.path, "model.json"),
      JSON.stringify({ outputs: { scores: { labels: ["lo", "hi"] } } }),
    );
    const model = await loadModel(dir.path);
    assert.deepEqual(model.outputColumns.map((c) => c.name), ["lo", "hi", "label"]);
    await model.close();
  });
  await t.step("a dynamic width takes the manifest's columns; without them the load fails naming the key", async () => {
    const model = await loadModel(join(BYOM, "dynamic_k"));
    assert.deepEqual(model.inputs[0].columns, ["a", "b", "c"]);
    await model.close();
    await using dir = await tempDir();
    const bare = join(dir.path, "dynamic.onnx");
    await Deno.copyFile(join(BYOM, "dynamic_k", "model.onnx"), bare);
    const err = await rejection(() => loadModel(bare));
    assert.ok(err instanceof ModelError);
    assert.equal(err.exitCode, 78);
    assert.match(
      err.message,
      /Input "x" .* float32 \[N,K\]: its width is dynamic.*"inputs": \{"x": \{"columns": \[\.\.\.\]\}\}/,
    );
  });
});

Deno.test("[N,K] inputs: missing values, bad values, and the columns found", async (t) => {
  const model = await loadModel(join(BYOM, "nk_regressor"));
  const row = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
  try {
    await t.step("a null or blank float becomes NaN (the model's imputer fills it), in both forms", async () => {
      const rows = [{ ...row, petal_width: null }, { ...row, sepal_width: "" }];
      const expected = await directRun(model, [{ ...row, petal_width: NaN }, { ...row, sepal_width: NaN }]);
      const columns = await predictRows(model, rows);
      assert.deepEqual([columns.variable[0], columns.variable[1]], [
        expected.get("variable")![0][0],
        expected.get("variable")![1][0],
      ]);
      const packed = await predictRows(model, [{ float_input: [5.1, 3.5, 1.4, null] }]);
      assert.equal(packed.variable[0], columns.variable[0]);
    });
    await t.step("a bad value rejects its row, naming its column (or the list and the item)", async () => {
      const rows = [
        { ...row, petal_width: "x" },
        row,
        { float_input: [5.1, 3.5, "wide", 0.2] },
        { float_input: [5.1, 3.5] },
        { float_input: null },
        { float_input: "5.1,3.5" },
      ];
      const p = await model.predict(rowsToColumns(rows), rows.length);
      // Row 4's null list falls back to its columns, absent here: four NaNs, which the imputer fills.
      assert.deepEqual(Array.from(p.rows!), [1, 4]);
      assert.deepEqual(p.rejects.map((r) => [r.index, r.column, r.message]), [
        [0, "petal_width", 'column "petal_width" is not a number (got "x")'],
        [2, "float_input", 'column "float_input" value 2 is not a number (got "wide")'],
        [3, "float_input", 'column "float_input" is not a list of 4 values (got [5.1,3.5])'],
        [5, "float_input", 'column "float_input" is not a list of 4 values (got "5.1,3.5")'],
      ]);
    });
    await t.step("columns match ignoring case when one does; two that differ only in case are an error", async () => {
      const columns = await predictRows(model, [{
        Sepal_Length: 5.1,
        SEPAL_WIDTH: 3.5,
        petal_length: 1.4,
        Petal_Width: 0.2,
      }]);
      assert.equal(columns.variable[0], (await predictRows(model, [row]))[`variable`][0]);
      const { sepal_length: _, ...rest } = rowsToColumns([row]);
      const err = await rejection(() => model.predict({ ...rest, Sepal_Length: [1], SEPAL_LENGTH: [2] }, 1));
      assert.equal(err.message.includes('"Sepal_Length"') && err.message.includes('"SEPAL_LENGTH"'), true, err.message);
      assert.equal(err.code, "missing_inputs");
    });
    await t.step("an exact name wins over one that differs in case", async () => {
      const columns = await model.predict({ ...rowsToColumns([row]), SEPAL_LENGTH: ["not a number"] }, 1);
      assert.deepEqual(columns.rejects, []);
    });
    await t.step("a missing column is named with the list form it could take instead", async () => {
      const { petal_width: _, ...rest } = row;
      const err = await rejection(() => model.predict(rowsToColumns([rest]), 1));
      assert.match(
        err.message,
        /Missing input column for model "nk-regressor": "petal_width" \(or "float_input" as a list of 4 values\)/,
      );
    });
  } finally {
    await model.close();
  }
  await t.step("a required [N,K] input rejects a null value or a null list", async () => {
    await using dir = await tempDir();
    await Deno.copyFile(join(BYOM, "nk_regressor", "model.onnx"), join(dir.path, "model.onnx"));
    await Deno.writeTextFile(
      join(dir.path, "model.json"),
      JSON.stringify({ inputs: { float_input: { required: true } } }),
    );
    const m = await loadModel(dir.path);
    const p = await m.predict(rowsToColumns([{ float_input: [1, null, 3, 4] }, { float_input: null }]), 2);
    assert.deepEqual(p.rejects.map((r) => r.message), [
      'column "float_input" value 1 is missing (expected a number)',
      'column "float_input" is missing (expected a list of 4 values)',
    ]);
    await m.close();
  });
});

Deno.test("a model of mixed inputs: a string column, a float vector and an int64 vector", async () => {
  const model = await loadModel(join(BYOM, "mixed"));
  try {
    assert.deepEqual(model.inputs.map((i) => [i.name, i.type, i.vector, i.columns]), [
      ["color", "string", false, ["color"]],
      ["features", "float32", true, ["features_0", "features_1", "features_2"]],
      ["counts", "int64", true, ["counts_0", "counts_1"]],
    ]);
    const p = await model.predict(rowsToColumns([{ color: "red", features: [1, 1, 1], counts: [1, "x"] }]), 1);
    assert.deepEqual(p.rejects.map((r) => r.message), ['column "counts" value 1 is not an integer (got "x")']);
    // An [N,1] input's value may come as a list of one, as a tensor's row is written.
    const plain = await predictRows(model, [{ color: "blue", features: [1, 2, 3], counts: [4, 5] }]);
    const listed = await predictRows(model, [{ color: ["blue"], features: [1, 2, 3], counts: [4, 5] }]);
    assert.deepEqual(listed.variable, plain.variable);
    const bad = await model.predict(
      rowsToColumns([{ color: ["blue", "red"], features: [1, 2, 3], counts: [4, 5] }]),
      1,
    );
    assert.match(bad.rejects[0].message, /column "color" is not a string/);
  } finally {
    await model.close();
  }
});

Deno.test("manifest validation: what does not match the model fails the load, listing what exists", async (t) => {
  await using dir = await tempDir();
  await Deno.copyFile(join(BYOM, "mixed", "model.onnx"), join(dir.path, "model.onnx"));
  const cases: [string, unknown, RegExp][] = [
    [
      "an unknown top-level key",
      { nmae: "x" },
      /unknown key "nmae" \(known keys here: "name", "version", "description", "inputs", "outputs", "strictCategories"\)/,
    ],
    [
      "an unknown input key",
      { inputs: { color: { alias: ["c"] } } },
      /unknown key "inputs.color.alias" \(known keys here: "aliases", "required", "columns"\)/,
    ],
    [
      "an input that does not exist",
      { inputs: { colour: {} } },
      /"inputs.colour" names no input of the model \(its inputs: "color", "features", "counts"\)/,
    ],
    [
      "an output that does not exist",
      { outputs: { varaible: {} } },
      /"outputs.varaible" names no output of the model \(its outputs: "variable"\)/,
    ],
    [
      "columns of the wrong count",
      { inputs: { features: { columns: ["a", "b"] } } },
      /takes 3 values per row but the manifest's "inputs.features.columns" names 2: "a", "b"/,
    ],
    [
      "a column feeding two inputs",
      { inputs: { features: { columns: ["a", "color", "b"] } } },
      /column "color" would feed both input "color" and input "features"/,
    ],
  ];
  for (const [name, manifest, message] of cases) {
    await t.step(name, async () => {
      await Deno.writeTextFile(join(dir.path, "model.json"), JSON.stringify(manifest));
      const err = await rejection(() => loadModel(dir.path));
      assert.ok(err instanceof ModelError, String(err));
      assert.equal(err.exitCode, 78);
      assert.match(err.message, message);
    });
  }
});
