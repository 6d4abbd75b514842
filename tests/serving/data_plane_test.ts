/**
 * The data plane without any transport: both request shapes scored through
 * the shared batchers, metadata and readiness, the prediction log fed from
 * columns, and two HTTP apps over one data plane merging into the same runs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createApp } from "../../src/http/create_app.ts";
import { loadModel } from "../../src/model/mod.ts";
import { DataPlane } from "../../src/serving/data_plane.ts";
import type { InferenceRequest } from "../../src/serving/oip.ts";
import type { LoggedPrediction } from "../../src/serving/prediction_log.ts";
import { rowsToColumns } from "../../src/rows.ts";
import { FIXTURES, MODELS } from "../helpers.ts";
import { COURSE_RIDE, COURSE_RIDE_DURATION } from "../http/requests.ts";

const CONTEXT = { requestId: "r-1" };

function rideInfer(n: number) {
  return {
    inputs: [
      { name: "PULocationID", shape: [n], datatype: "INT64", data: Array(n).fill(COURSE_RIDE.PULocationID) },
      { name: "DOLocationID", shape: [n], datatype: "INT64", data: Array(n).fill(COURSE_RIDE.DOLocationID) },
      { name: "trip_distance", shape: [n], datatype: "FP64", data: Array(n).fill(COURSE_RIDE.trip_distance) },
    ],
  };
}

/** The same request typed, as the data plane takes it from any transport. */
function typedRideInfer(n: number): InferenceRequest {
  const ints = (v: number) => new BigInt64Array(n).fill(BigInt(v));
  return {
    inputs: [
      { name: "PULocationID", shape: [n], datatype: "INT64", data: ints(COURSE_RIDE.PULocationID) },
      { name: "DOLocationID", shape: [n], datatype: "INT64", data: ints(COURSE_RIDE.DOLocationID) },
      {
        name: "trip_distance",
        shape: [n],
        datatype: "FP64",
        data: new Float64Array(n).fill(COURSE_RIDE.trip_distance),
      },
    ],
  };
}

const rows = (items: Record<string, unknown>[]) => ({ columns: rowsToColumns(items), length: items.length });

Deno.test("DataPlane", async (t) => {
  const linreg = await loadModel(join(MODELS, "ride-duration-linreg"));
  const churn = await loadModel(join(MODELS, "churn"));
  const records: LoggedPrediction[] = [];
  let ready = true;
  const plane = new DataPlane([linreg, churn], {
    version: "1.2.3",
    predictions: { write: (r) => records.push(r) },
    isReady: () => ready,
  });
  try {
    await t.step(
      "predictRows scores columns with the first model's batcher; the first model is the default",
      async () => {
        assert.equal(plane.defaultModel, "ride-duration-linreg");
        const { model, prediction } = await plane.predictRows(linreg.name, rows([COURSE_RIDE, COURSE_RIDE]), CONTEXT);
        assert.equal(model, linreg);
        assert.deepEqual([...prediction.columns.duration as Float64Array], [
          COURSE_RIDE_DURATION,
          COURSE_RIDE_DURATION,
        ]);
        assert.deepEqual(prediction.rejects, []);
      },
    );

    await t.step("infer takes and returns typed tensors", async () => {
      const out = await plane.infer(linreg.name, linreg.version, { id: "x", ...typedRideInfer(2) }, CONTEXT);
      assert.deepEqual(out, {
        modelName: linreg.name,
        modelVersion: linreg.version,
        id: "x",
        outputs: [{
          name: "duration",
          datatype: "FP64",
          shape: [2],
          data: new Float64Array([COURSE_RIDE_DURATION, COURSE_RIDE_DURATION]),
        }],
      });
    });

    await t.step("infer checks the typed request as REST does, naming the tensor", async () => {
      const req = typedRideInfer(2);
      const cases: [InferenceRequest, RegExp][] = [
        [{ inputs: [] }, /"inputs" must be a non-empty array/],
        [{ inputs: req.inputs.slice(1) }, /Missing input for model "ride-duration-linreg": "PULocationID"/],
        [
          { inputs: [{ ...req.inputs[0], datatype: "FP32" }, ...req.inputs.slice(1)] },
          /Input "PULocationID" has datatype "FP32"; the model expects INT64/,
        ],
        [
          { inputs: [{ ...req.inputs[0], shape: [3] }, ...req.inputs.slice(1)] },
          /Input "PULocationID" has 2 values but its shape \[3\] needs 3/,
        ],
        [{ ...req, outputs: [{ name: "nope" }] }, /Unknown output "nope"/],
      ];
      for (const [request, error] of cases) {
        await assert.rejects(plane.infer(linreg.name, undefined, request, CONTEXT), error);
      }
    });

    await t.step("the prediction log gets one record per row, the same from either shape", async () => {
      records.length = 0;
      await plane.predictRows(linreg.name, rows([COURSE_RIDE, { ...COURSE_RIDE, note: "extra" }]), {
        requestId: "rows",
      });
      await plane.infer(linreg.name, undefined, typedRideInfer(1), { requestId: "oip" });
      assert.deepEqual(
        records.map(({ time: _, ...r }) => r),
        [
          ["rows", COURSE_RIDE],
          ["rows", { ...COURSE_RIDE, note: "extra" }],
          ["oip", COURSE_RIDE],
        ].map(([requestId, features]) => ({
          requestId,
          model: linreg.name,
          modelVersion: linreg.version,
          features,
          outputs: { duration: COURSE_RIDE_DURATION },
        })),
      );
    });

    await t.step("an id beyond 2^53 is logged with all its digits; INT64 takes the whole int64 range", async () => {
      records.length = 0;
      const app = createApp(plane, { accessLog: false });
      const post = (path: string, text: string) =>
        app.request(path, { method: "POST", body: text, headers: { "content-type": "application/json" } });
      const rows = await post(
        "/predict",
        `{"PULocationID": 10, "DOLocationID": 50, "trip_distance": 40, "ride_id": 9007199254740993}`,
      );
      assert.equal(rows.status, 200);
      const oip = await post(
        `/v2/models/${linreg.name}/infer`,
        JSON.stringify(rideInfer(1)).replace('"data":[10]', '"data":[9007199254740993]'),
      );
      assert.equal(oip.status, 200, await oip.clone().text());
      assert.equal(records[0].features.ride_id, 9007199254740993n);
      assert.equal(records[1].features.PULocationID, 9007199254740993n);
    });

    await t.step("rows are logged under the model's column names, whatever spelling or form they came in", async () => {
      const nk = await loadModel(join(FIXTURES, "models", "byom", "nk_regressor"));
      const logged: LoggedPrediction[] = [];
      const own = new DataPlane([nk], { predictions: { write: (r) => logged.push(r) } });
      const iris = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
      try {
        await own.predictRows(nk.name, rows([{ float_input: [5.1, 3.5, 1.4, 0.2], id: "list" }]), CONTEXT);
        await own.predictRows(nk.name, rows([{ ...iris, id: "fields" }]), CONTEXT);
        await own.predictRows(
          nk.name,
          rows([{ Sepal_Length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2, id: "case" }]),
          CONTEXT,
        );
        await own.infer(nk.name, undefined, {
          inputs: [{
            name: "float_input",
            datatype: "FP32",
            shape: [1, 4],
            data: new Float32Array([5.1, 3.5, 1.4, 0.2]),
          }],
        }, CONTEXT);
        assert.deepEqual(logged.map((r) => r.features), [
          { ...iris, id: "list" },
          { ...iris, id: "fields" },
          { ...iris, id: "case" },
          iris,
        ]);
      } finally {
        await nk.close();
      }
    });

    await t.step("typed tensors are logged as JSON gives them: FP32 as sent, bools, NaN as null", async () => {
      const nk = await loadModel(join(FIXTURES, "models", "byom", "nk_regressor"));
      const logged: LoggedPrediction[] = [];
      const own = new DataPlane([nk], { predictions: { write: (r) => logged.push(r) } });
      try {
        await own.infer(nk.name, undefined, {
          inputs: [{
            name: "float_input",
            datatype: "FP32",
            shape: [1, 4],
            data: new Float32Array([0.1, 5.1, NaN, 1e-7]),
          }],
        }, CONTEXT);
        assert.deepEqual(logged[0].features, {
          sepal_length: 0.1,
          sepal_width: 5.1,
          petal_length: null,
          petal_width: 1e-7,
        });
      } finally {
        await nk.close();
      }
    });

    await t.step("a refused request is not logged", async () => {
      records.length = 0;
      const rejected = await plane.predictRows(linreg.name, rows([{ ...COURSE_RIDE, trip_distance: "x" }]), CONTEXT);
      assert.match(rejected.prediction.rejects[0].message, /trip_distance/);
      await assert.rejects(plane.infer(linreg.name, undefined, { inputs: [] }, CONTEXT), /non-empty/);
      assert.equal(records.length, 0);
    });

    await t.step("metadata, readiness and unknown models", async () => {
      assert.deepEqual(plane.metadata(), { name: "score", version: "1.2.3", extensions: [] });
      assert.equal(plane.modelMetadata(churn.name).name, churn.name);
      assert.deepEqual(plane.models, [linreg, churn]);
      assert.equal(plane.modelReady(churn.name, churn.version), true);
      ready = false;
      assert.equal(plane.ready(), false);
      assert.equal(plane.modelReady(churn.name), false);
      ready = true;
      assert.throws(() => plane.served("nope"), /Unknown model "nope" \(models: ride-duration-linreg, churn\)/);
      assert.throws(() => plane.served(churn.name, "v0"), /has no version "v0"/);
      await assert.rejects(plane.predictRows("nope", rows([COURSE_RIDE]), CONTEXT), /Unknown model/);
    });

    await t.step("two HTTP apps over one data plane share its batchers", async () => {
      const shared = new DataPlane([linreg], { batching: { maxBatchSize: 2, maxDelayMs: 10_000 } });
      const runs: number[] = [];
      shared.onBatch((_, rows) => runs.push(rows));
      const apps = [createApp(shared, { accessLog: false }), createApp(shared, { accessLog: false })];
      const responses = await Promise.all(apps.map((app) =>
        app.request("/predict", {
          method: "POST",
          body: JSON.stringify(COURSE_RIDE),
          headers: { "content-type": "application/json" },
        })
      ));
      assert.deepEqual(responses.map((r) => r.status), [200, 200]);
      // Both requests waited in the one batcher and ran together (a run starts at two rows, or after 10 s).
      assert.deepEqual(runs, [2]);
      await shared.drain();
    });
  } finally {
    await plane.drain();
    await linreg.close();
    await churn.close();
  }
});
