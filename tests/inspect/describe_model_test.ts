/**
 * `describeModel` on the shipped models, the real exports made by others
 * and every synthetic test model: its example requests are answered by
 * `score serve`'s app, and it shows fixed batches, `[N,K]` inputs and
 * ZipMap labels as the model module reads them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createApp } from "../../src/http/create_app.ts";
import { describeModel } from "../../src/inspect/mod.ts";
import { loadModel } from "../../src/model/mod.ts";
import { DataPlane } from "../../src/serving/data_plane.ts";
import { FIXTURES, MODELS } from "../helpers.ts";
import { describe } from "./describe.ts";

const REAL_EXPORTS = join(FIXTURES, "real-exports");
const MODEL_DIRS = [
  ...["ride-duration-linreg", "ride-duration-rf", "churn"].map((m) => join(MODELS, m)),
  ...[REAL_EXPORTS, join(FIXTURES, "models", "byom")].flatMap((parent) =>
    [...Deno.readDirSync(parent)].filter((e) => e.isDirectory).map((e) => join(parent, e.name)).sort()
  ),
  join(FIXTURES, "models", "multi"),
];

Deno.test("inspect: the example requests are answered by score serve's app, for every model", async (t) => {
  assert.ok(MODEL_DIRS.length >= 23);
  for (const dir of MODEL_DIRS) {
    await t.step(dir.slice(dir.lastIndexOf("/") + 1), async () => {
      const model = await loadModel(dir);
      try {
        const d = describeModel(model, "http://localhost:9696/");
        assert.deepEqual(d.columns, model.inputs.flatMap((i) => i.columns));
        assert.equal(d.csvHeader, d.columns.map((c) => /[",]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c).join(","));
        assert.equal(d.predict.url, "http://localhost:9696/predict");
        assert.equal(d.infer.url, `http://localhost:9696/v2/models/${model.name}/infer`);
        const app = createApp(new DataPlane([model]), { accessLog: false });
        const predict = await app.request(new URL(d.predict.url).pathname, {
          method: "POST",
          body: JSON.stringify(d.predict.body),
          headers: { "content-type": "application/json" },
        });
        const answer = await predict.json();
        assert.equal(predict.status, 200, JSON.stringify(answer));
        // a classifier's probabilities (with or without a ZipMap) answer under its key as {label: probability};
        // other outputs as their columns
        for (const o of d.outputs) {
          if (o.labels !== null) assert.deepEqual(Object.keys(answer[o.key]), o.labels);
          else for (const c of o.columns) assert.ok(c in answer, `${c} in ${JSON.stringify(answer)}`);
        }
        const infer = await app.request(new URL(d.infer.url).pathname, {
          method: "POST",
          body: JSON.stringify(d.infer.body),
          headers: { "content-type": "application/json" },
        });
        const inferred = await infer.json();
        assert.equal(infer.status, 200, JSON.stringify(inferred));
        assert.deepEqual(inferred.outputs.map((o: { name: string }) => o.name), d.outputs.map((o) => o.name));
      } finally {
        await model.close();
      }
    });
  }
});

Deno.test("inspect: fixed batch, [N,K] inputs and ZipMap labels are shown as score reads them", async () => {
  const fixed = await describe(join(REAL_EXPORTS, "torch_house_fixed1"));
  assert.equal(fixed.fixedBatch, 1);
  assert.deepEqual(fixed.inputs.map((i) => [i.shape, i.fixedBatch]), [[["1", "1"], 1]]);
  const iris = await describe(join(REAL_EXPORTS, "lgbm_iris_zipmap"));
  assert.equal(iris.fixedBatch, null);
  assert.deepEqual(iris.inputs.map((i) => [i.name, i.type, i.shape, i.columns, i.list]), [
    ["X", "float32", ["N", "4"], ["X_0", "X_1", "X_2", "X_3"], true],
  ]);
  const probabilities = iris.outputs.find((o) => o.labels !== null)!;
  assert.deepEqual([probabilities.labels, probabilities.labelsFrom], [["0", "1", "2"], "ZipMap"]);
  assert.equal(probabilities.columns.length, 3);
  const linreg = await describe(join(MODELS, "ride-duration-linreg"));
  assert.equal(linreg.csvHeader, "PULocationID,DOLocationID,trip_distance");
  assert.deepEqual(linreg.exampleRow, { PULocationID: 1, DOLocationID: 1, trip_distance: 0.5 });
  assert.deepEqual(linreg.outputs.map((o) => o.labels), [null]);
});

Deno.test("inspect: class labels of classifiers without a ZipMap, and known categories in the example row", async () => {
  const catboost = await describe(join(REAL_EXPORTS, "catboost_ckd"));
  assert.deepEqual(catboost.outputs.map((o) => [o.name, o.columns, o.labels, o.labelsFrom]), [
    ["label", ["label"], null, null],
    ["probabilities", ["probabilities_0", "probabilities_1"], ["0", "1"], "TreeEnsembleClassifier"],
  ]);
  const car = await describe(join(REAL_EXPORTS, "skl_coltrans_car_price"));
  assert.deepEqual(car.inputs.map((i) => [i.name, i.categories]), [
    ["brand", [["Audi", "BMW", "Ford", "Tesla", "Toyota", "VW"]]],
    ["mileage", null],
    ["year", null],
    ["fuel_type", [["Diesel", "Electric", "Gasoline", "Hybrid"]]],
  ]);
  assert.deepEqual(car.exampleRow, { brand: "Audi", mileage: 0.5, year: 0.5, fuel_type: "Diesel" });
  const onehot = await describe(join(FIXTURES, "models", "byom", "onehot"));
  assert.deepEqual(onehot.exampleRow, { color: "red", zone: 10, distance: 0.5 });
  const infer = onehot.infer.body as { inputs: { data: unknown[] }[] };
  assert.deepEqual(infer.inputs.map((i) => i.data), [["red"], [10], [0.5]]);
  const fixed = await describe(join(REAL_EXPORTS, "onnxmltools_onehot_int64_fixed1"));
  assert.deepEqual(fixed.exampleRow, { input_0: 0, input_1: 1, input_2: 0 });
});
