/**
 * `score serve --monitor`'s watch through the HTTP app: requests scored
 * through the data plane show in /metrics as the window's drift once it is
 * computed, never on the request path.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createApp } from "../../src/http/create_app.ts";
import { Metrics } from "../../src/serving/metrics.ts";
import { loadModel } from "../../src/model/mod.ts";
import { DatasetProfile } from "../../src/monitor/mod.ts";
import { DataPlane } from "../../src/serving/data_plane.ts";
import { watchDrift } from "../../src/serving/drift_watch.ts";
import { MODELS } from "../helpers.ts";

/** A sample's value in the exposition text. */
function sample(text: string, line: string): number | undefined {
  const found = text.split("\n").find((l) => l.startsWith(line + " "));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

Deno.test("score serve's drift watch in /metrics", async (t) => {
  const model = await loadModel(join(MODELS, "ride-duration-linreg"));
  const churn = await loadModel(join(MODELS, "churn"));
  const reference = new DatasetProfile({ name: model.name, version: model.version }, [
    { name: "PULocationID", role: "input", kind: "categorical" },
    { name: "trip_distance", role: "input", kind: "numeric" },
    { name: "duration", role: "output", kind: "numeric" },
  ]);
  const n = 2_000;
  const distances = Float64Array.from({ length: n }, (_, i) => 1 + (i % 20) * 0.5);
  const zones = Array.from({ length: n }, (_, i) => [74, 75, 41][i % 3]);
  const scored = await model.predict({ PULocationID: zones, DOLocationID: zones, trip_distance: distances }, n);
  reference.fold({ PULocationID: zones, trip_distance: distances }, n, scored.columns);

  const metrics = new Metrics();
  const watch = watchDrift(reference, metrics.registry, { windowSeconds: 3600, periodSeconds: 3600 });
  const plane = new DataPlane([model, churn], { observe: watch.observe });
  const app = createApp(plane, { accessLog: false, metrics });
  const scrape = async () => await (await app.request("/metrics")).text();
  try {
    await t.step("before the first computation: nothing drifted, no score", async () => {
      const text = await scrape();
      assert.equal(sample(text, 'score_drift_detected{model="ride-duration-linreg",column="trip_distance"}'), 0);
      assert.doesNotMatch(text, /^score_drift_score\{/m);
    });

    await t.step("rides ten times as long drift; the same zones do not; predictions fill the histogram", async () => {
      const rides = Array.from({ length: 300 }, (_, i) => ({
        PULocationID: [74, 75, 41][i % 3],
        DOLocationID: 50,
        trip_distance: 10 * (1 + (i % 20) * 0.5),
      }));
      const response = await app.request("/predict", { method: "POST", body: JSON.stringify(rides) });
      assert.equal(response.status, 200);
      assert.doesNotMatch(await scrape(), /^score_drift_score\{/m, "not on the request path: only kept");
      watch.tick();
      const text = await scrape();
      const label = (c: string) => `{model="ride-duration-linreg",column="${c}"}`;
      assert.equal(sample(text, `score_drift_detected${label("trip_distance")}`), 1);
      assert(sample(text, `score_drift_score${label("trip_distance")}`)! >= 0.1);
      assert.equal(sample(text, `score_drift_detected${label("PULocationID")}`), 0);
      assert(sample(text, `score_drift_score${label("PULocationID")}`)! < 0.01, "the same three zones, evenly");
      assert.equal(sample(text, `score_drift_detected${label("duration")}`), 1);
      assert.equal(sample(text, 'score_drift_window_rows{model="ride-duration-linreg"}'), 300);
      assert.equal(sample(text, 'score_prediction_count{model="ride-duration-linreg",output="duration"}'), 300);
    });

    await t.step("another model's requests are not watched", async () => {
      const customer = { SeniorCitizen: 0, tenure: 12, MonthlyCharges: 70, TotalCharges: 840 };
      await app.request("/v2/models/churn/infer", { method: "POST", body: JSON.stringify(customer) });
      watch.tick();
      assert.equal(sample(await scrape(), 'score_drift_window_rows{model="ride-duration-linreg"}'), 300);
    });
  } finally {
    watch.stop();
    await model.close();
    await churn.close();
  }
});
