/**
 * Models people bring, through the HTTP app: the course's `/predict` (row
 * objects, the array form of [N,K] inputs, KServe v1 instances) and the Open
 * Inference Protocol v2, each answer checked against onnxruntime run
 * directly on the same rows.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createApp } from "../../src/http/create_app.ts";
import { loadModel, type Model } from "../../src/model/mod.ts";
import { DataPlane } from "../../src/serving/data_plane.ts";
import { jsonText, parseJson } from "../../src/value_codec.ts";
import { ALL_CASES, directRun, expectedJson, jsonOf, packedRow } from "../byom_cases.ts";
import { FIXTURES } from "../helpers.ts";

const DATATYPE: Record<string, string> = { float32: "FP32", float64: "FP64", int64: "INT64", string: "BYTES" };

/** A response body read as score reads JSON: integers beyond 2^53 exactly. */
async function json(res: Response) {
  return parseJson(await res.text()) as Record<string, any>;
}

function post(app: ReturnType<typeof createApp>, path: string, body: unknown) {
  return app.request(path, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
}

Deno.test("serve: every model people bring answers /predict and OIP with onnxruntime's values", async (t) => {
  const models: Model[] = [];
  for (const c of ALL_CASES) models.push(await loadModel(c.path));
  const app = createApp(new DataPlane(models), { accessLog: false });
  try {
    for (const [i, c] of ALL_CASES.entries()) {
      const model = models[i];
      const direct = await directRun(model, c.rows);
      const expected = c.rows.map((_, r) => ({ ...expectedJson(model, direct, r), model_version: model.version }));
      await t.step(`${c.name}: /predict with rows of columns, of lists, one object, instances`, async () => {
        const path = `/models/${model.name}/predict`;
        let res = await post(app, path, c.rows);
        assert.equal(res.status, 200);
        assert.deepEqual(await json(res), expected);
        res = await post(app, path, c.rows.map((row) => packedRow(model, row)));
        assert.deepEqual(await json(res), expected);
        res = await post(app, path, packedRow(model, c.rows[0]));
        assert.deepEqual(await json(res), expected[0]);
        const instances = c.rows.map((row) => model.inputs.flatMap((input) => input.columns.map((col) => row[col])));
        res = await post(app, path, { instances });
        assert.deepEqual((await json(res)).predictions, expected);
      });
      await t.step(`${c.name}: OIP metadata [-1, K] and infer with [N, K] data, flat and nested`, async () => {
        const meta = await (await app.request(`/v2/models/${model.name}`)).json();
        assert.deepEqual(
          meta.inputs.map((x: { shape: number[] }) => x.shape),
          model.inputs.map((input) =>
            input.vector ? [-1, input.columns.length] : input.shape.length === 2 ? [-1, 1] : [-1]
          ),
        );
        for (const nested of [false, true]) {
          const inputs = model.inputs.map((input) => {
            const rows = c.rows.map((row) => input.columns.map((col) => row[col]));
            const k = input.columns.length;
            const shape = input.vector || input.shape.length === 2 ? [rows.length, k] : [rows.length];
            return { name: input.name, datatype: DATATYPE[input.type], shape, data: nested ? rows : rows.flat() };
          });
          const res = await post(app, `/v2/models/${model.name}/infer`, { inputs });
          const body = await json(res);
          assert.equal(res.status, 200, jsonText(body));
          for (const o of model.outputs) {
            const out = body.outputs.find((x: { name: string }) => x.name === o.name);
            const k = o.columns.length;
            assert.deepEqual(out.data, direct.get(o.name)!.flat().map(jsonOf));
            assert.equal(out.shape[0], c.rows.length);
            assert.equal(out.shape.slice(1).reduce((a: number, b: number) => a * b, 1), k);
            const described = meta.outputs.find((x: { name: string }) => x.name === o.name);
            if (o.labels) {
              assert.deepEqual([out.datatype, out.shape, described.parameters.labels], [
                "FP32",
                [c.rows.length, k],
                o.labels,
              ]);
            }
          }
        }
      });
    }
  } finally {
    for (const m of models) await m.close();
  }
});

Deno.test("serve: missing values and bad values of [N,K] inputs", async (t) => {
  const model = await loadModel(join(FIXTURES, "models", "byom", "nk_regressor"));
  const app = createApp(new DataPlane([model]), { accessLog: false });
  const row = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
  const withNaN = (await directRun(model, [{ ...row, petal_width: NaN }])).get("variable")![0][0];
  try {
    await t.step("/predict: null, in a column or in the list, becomes NaN for the imputer", async () => {
      for (const body of [{ ...row, petal_width: null }, { float_input: [5.1, 3.5, 1.4, null] }]) {
        const res = await post(app, "/predict", body);
        assert.deepEqual(await json(res), { variable: withNaN, model_version: model.version });
      }
    });
    await t.step("OIP: null in FP32 data becomes NaN", async () => {
      const inputs = [{ name: "float_input", datatype: "FP32", shape: [1, 4], data: [5.1, 3.5, 1.4, null] }];
      const body = await (await post(app, "/v2/models/nk-regressor/infer", { inputs })).json();
      assert.deepEqual(body.outputs[0].data, [withNaN]);
    });
    const cases: [string, string, unknown, number, RegExp][] = [
      [
        "a bad column",
        "/predict",
        { ...row, petal_width: "x" },
        422,
        /column "petal_width" is not a number \(got "x"\)/,
      ],
      [
        "a bad list item",
        "/predict",
        { float_input: [1, 2, "x", 4] },
        422,
        /column "float_input" value 2 is not a number/,
      ],
      [
        "a list of the wrong length",
        "/predict",
        [row, { float_input: [1, 2] }],
        422,
        /row 1: column "float_input" is not a list of 4 values/,
      ],
      [
        "an OIP shape of the wrong width",
        "/v2/models/nk-regressor/infer",
        {
          inputs: [{ name: "float_input", datatype: "FP32", shape: [1, 3], data: [1, 2, 3] }],
        },
        400,
        /has shape \[1,3\]; the model takes \[N, 4\]/,
      ],
      [
        "an OIP string in FP32 data is refused",
        "/v2/models/nk-regressor/infer",
        {
          inputs: [{ name: "float_input", datatype: "FP32", shape: [1, 4], data: [1, 2, "3", 4] }],
        },
        400,
        /element 2 is "3", not a valid FP32 value/,
      ],
    ];
    for (const [name, path, body, status, message] of cases) {
      await t.step(name, async () => {
        const res = await post(app, path, body);
        assert.equal(res.status, status);
        assert.match((await json(res)).error, message);
      });
    }
  } finally {
    await model.close();
  }
});

Deno.test("serve: a fixed batch of 1 answers merged concurrent requests", async () => {
  const model = await loadModel(join(FIXTURES, "models", "byom", "fixed_batch"));
  const app = createApp(new DataPlane([model], { batching: { maxBatchSize: 64, maxDelayMs: 20 } }), {
    accessLog: false,
  });
  try {
    const rows = Array.from({ length: 12 }, (_, i) => ({ x: [i, 1, -i] }));
    const direct = await directRun(model, rows.map((r) => ({ x_0: r.x[0], x_1: r.x[1], x_2: r.x[2] })));
    const answers = await Promise.all(rows.map(async (row) => (await post(app, "/predict", [row, row])).json()));
    answers.forEach((a, i) => {
      assert.deepEqual(a.length, 2);
      assert.equal(a[1].y, direct.get("y")![i][0]);
    });
  } finally {
    await model.close();
  }
});

Deno.test("serve: class labels from the graph, and categories the model has never seen", async (t) => {
  const byom = join(FIXTURES, "models", "byom");
  const models = [
    await loadModel(join(byom, "svc_strings")),
    await loadModel(join(byom, "linear_int64_labels")),
    await loadModel(join(byom, "zipmap_strings")),
    await loadModel(join(byom, "onehot"), { strictCategories: true }),
    await loadModel(join(byom, "onehot"), { manifest: { name: "onehot-lenient" } }),
  ];
  const app = createApp(new DataPlane(models), { accessLog: false });
  try {
    const labelled: [string, Record<string, unknown>, string, string, string[]][] = [
      ["svc_strings", { float_input: [1, 0, 0.5] }, "label", "probabilities", ["cat", "dog", "bird"]],
      ["linear_int64_labels", { x: [1, 2, 3] }, "label", "probabilities", ["3", "7", "11"]],
      ["zipmap_strings", { float_input: [1, 2, 3] }, "output_label", "output_probability", [
        "setosa",
        "versicolor",
        "virginica",
      ]],
    ];
    for (const [name, row, label, key, labels] of labelled) {
      await t.step(`${name}: /predict answers {label: probability}, OIP metadata lists the labels`, async () => {
        const body = await json(await post(app, `/models/${name}/predict`, row));
        assert.deepEqual(Object.keys(body), [label, key, "model_version"]);
        assert.deepEqual(Object.keys(body[key]), labels);
        const sum = Object.values(body[key] as Record<string, number>).reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(sum - 1) < 1e-5, `probabilities sum to ${sum}`);
        assert.ok(labels.includes(String(body[label])), `label ${body[label]} is one of ${labels}`);
        const meta = await (await app.request(`/v2/models/${name}`)).json();
        assert.deepEqual(meta.outputs.find((o: { name: string }) => o.name === key).parameters, { labels });
      });
    }
    await t.step("strict: 422 naming column and value; the other rows of the model answer", async () => {
      let res = await post(app, "/models/onehot/predict", [
        { color: "red", zone: 10, distance: 1 },
        { color: "purple", zone: 10, distance: 1 },
      ]);
      assert.equal(res.status, 422);
      assert.match((await json(res)).error, /row 1: column "color" has category "purple" the model has never seen/);
      const inputs = [
        { name: "color", datatype: "BYTES", shape: [1, 1], data: ["red"] },
        { name: "zone", datatype: "INT64", shape: [1, 1], data: [99] },
        { name: "distance", datatype: "FP32", shape: [1, 1], data: [1] },
      ];
      res = await post(app, "/v2/models/onehot/infer", { inputs });
      assert.equal(res.status, 400);
      assert.match((await json(res)).error, /column "zone" has category "99" the model has never seen/);
      res = await post(app, "/models/onehot/predict", { color: "blue", zone: 30, distance: 2 });
      assert.deepEqual(await json(res), { variable: 34, model_version: models[3].version });
    });
    await t.step("by default the row is scored as the model scores it", async () => {
      const res = await post(app, "/models/onehot-lenient/predict", { color: "purple", zone: 99, distance: 2 });
      assert.deepEqual(await json(res), { variable: 1, model_version: models[4].version });
    });
    await t.step("/metrics counts the rows with unknown categories, by model and column", async () => {
      const text = await (await app.request("/metrics")).text();
      const counted = text.split("\n").filter((l) => l.startsWith("score_unknown_categories_total{")).sort();
      assert.deepEqual(counted, [
        `score_unknown_categories_total{model="onehot",column="color"} 1`,
        `score_unknown_categories_total{model="onehot",column="zone"} 1`,
        `score_unknown_categories_total{model="onehot-lenient",column="color"} 1`,
        `score_unknown_categories_total{model="onehot-lenient",column="zone"} 1`,
      ]);
    });
  } finally {
    for (const m of models) await m.close();
  }
});
