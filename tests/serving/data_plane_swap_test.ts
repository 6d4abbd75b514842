/**
 * Swapping a model in the data plane under concurrent requests: none fails,
 * each is answered wholly by one version, requests after the swap get the
 * new one, and the old one is closed only after it answered its own.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createApp } from "../../src/http/create_app.ts";
import { loadModel } from "../../src/model/mod.ts";
import { DataPlane } from "../../src/serving/data_plane.ts";
import { MODELS } from "../helpers.ts";

Deno.test("DataPlane.swap under concurrent requests", async () => {
  const linreg = await loadModel(join(MODELS, "ride-duration-linreg"), { manifest: { name: "rides", version: "a" } });
  const rf = await loadModel(join(MODELS, "ride-duration-rf"), { manifest: { name: "rides", version: "b" } });
  // Requests wait in the batcher's queue for a while, so those sent before the swap are surely in flight.
  const plane = new DataPlane([linreg], { batching: { maxBatchSize: 1000, maxDelayMs: 100 } });
  const app = createApp(plane, { accessLog: false });
  const ride = JSON.stringify({ PULocationID: 130, DOLocationID: 205, trip_distance: 3.66 });
  const ask = async () => {
    const res = await app.request("/predict", { method: "POST", body: ride });
    return { status: res.status, ...(await res.json()) };
  };
  try {
    const before = Array.from({ length: 100 }, ask);
    const deadline = Date.now() + 10_000;
    while (plane.queuedRows()[0].rows < 100) {
      assert.ok(Date.now() < deadline, "the requests never reached the batcher");
      await new Promise((r) => setTimeout(r, 1));
    }
    const swapped = plane.swap(rf);
    const after = Array.from({ length: 100 }, ask);
    const [a, b] = [await Promise.all(before), await Promise.all(after)];
    await swapped;
    assert.ok([...a, ...b].every((r) => r.status === 200), "no request failed");
    assert.ok(a.every((r) => r.model_version === "a"), "requests in flight finished on the old version");
    assert.ok(b.every((r) => r.model_version === "b"), "requests after the swap got the new one");
    assert.equal(new Set(a.map((r) => r.duration)).size, 1);
    assert.ok(Math.abs(b[0].duration - 21.29) < 0.005);
    assert.deepEqual(plane.models, [rf]);
    const metrics = await (await app.request("/metrics")).text();
    assert.match(metrics, /^score_model_info\{model="rides",version="b"\} 1$/m);
    assert.match(metrics, /^score_batch_rows_count\{model="rides",version="a"\} \d+$/m);
    assert.match(metrics, /^score_batch_rows_count\{model="rides",version="b"\} \d+$/m);
    await assert.rejects(() => linreg.predict({ PULocationID: [1], DOLocationID: [2], trip_distance: [3] }, 1));
  } finally {
    await rf.close();
  }
});
