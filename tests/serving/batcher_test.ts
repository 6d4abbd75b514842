import assert from "node:assert/strict";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { loadModel, type Model, type Prediction } from "../../src/model/mod.ts";
import { Batcher } from "../../src/serving/batcher.ts";
import { MODELS, rejection } from "../helpers.ts";

/**
 * A model double for the batcher's own logic (merging, splitting, failing
 * alone): doubles each `x`, and its run fails when any row's `x` is "boom".
 * The real models are exercised through the batcher in tests/http and tests/queue.
 */
function fakeModel(runs: number[]): Model {
  return {
    name: "fake",
    canonicalColumns: (columns: Record<string, ArrayLike<unknown>>) => {
      if (!("x" in columns)) throw new Error('Missing input column for model "fake": "x"');
      return { x: columns.x };
    },
    predict: (columns: Record<string, ArrayLike<unknown>>, length: number): Promise<Prediction> => {
      runs.push(length);
      const xs = Array.from(columns.x);
      if (xs.includes("boom")) return Promise.reject(new Error("onnxruntime fell over"));
      return Promise.resolve({ rows: null, columns: { y: xs.map((v) => (v as number) * 2) }, rejects: [] });
    },
  } as unknown as Model;
}

Deno.test("Batcher", async (t) => {
  await t.step("concurrent requests share one run and each gets its own rows", async () => {
    const runs: number[] = [];
    const batcher = new Batcher(fakeModel(runs), { maxBatchSize: 100, maxDelayMs: 5 });
    const results = await Promise.all([1, 2, 3].map((i) => batcher.predict({ x: [i, i * 10] }, 2)));
    assert.deepEqual(results.map((r) => Array.from(r.columns.y)), [[2, 20], [4, 40], [6, 60]]);
    assert.deepEqual(runs, [6]);
  });
  await t.step(
    "with no delay, requests that came in together run together; those during a run, in the next",
    async () => {
      const runs: number[] = [];
      const batcher = new Batcher(fakeModel(runs), { maxBatchSize: 100, maxDelayMs: 0 });
      const first = [1, 2, 3].map((i) => batcher.predict({ x: [i] }, 1));
      // In the same turn, but past the batch limit: run at once, without waiting for the end of the turn.
      const full = batcher.predict({ x: Array.from({ length: 97 }, () => 1) }, 97);
      await Promise.all([...first, full]);
      const later = await Promise.all([4, 5].map((i) => batcher.predict({ x: [i] }, 1)));
      assert.deepEqual(later.map((r) => Array.from(r.columns.y)), [[8], [10]]);
      assert.deepEqual(runs, [100, 2]);
    },
  );
  await t.step("a request that makes the merged run fail fails alone; the others are scored", async () => {
    const runs: number[] = [];
    const batcher = new Batcher(fakeModel(runs), { maxBatchSize: 100, maxDelayMs: 5 });
    const [a, bad, c] = await Promise.allSettled([
      batcher.predict({ x: [1] }, 1),
      batcher.predict({ x: ["boom"] }, 1),
      batcher.predict({ x: [3] }, 1),
    ]);
    assert.deepEqual(a.status === "fulfilled" && Array.from(a.value.columns.y), [2]);
    assert.equal(bad.status, "rejected");
    assert.match((bad as PromiseRejectedResult).reason.message, /onnxruntime fell over/);
    assert.deepEqual(c.status === "fulfilled" && Array.from(c.value.columns.y), [6]);
    assert.deepEqual(runs, [3, 1, 1, 1], "the merged run, then each request alone");
  });
  await t.step("a request lacking an input fails before it is queued", async () => {
    const runs: number[] = [];
    const batcher = new Batcher(fakeModel(runs), {});
    const err = await rejection(() => batcher.predict({ z: [1] }, 1));
    assert.match(err.message, /Missing input column/);
    assert.deepEqual(runs, []);
  });
});

Deno.test("Batcher: a request larger than maxBatchSize reaches onnxruntime in runs of at most that many rows", async () => {
  const model = await loadModel(join(MODELS, "ride-duration-rf"));
  const n = 1000;
  const columns = {
    PULocationID: Array.from({ length: n }, (_, i) => 1 + (i * 37) % 265),
    DOLocationID: Array.from({ length: n }, (_, i) => 1 + (i * 91) % 265),
    trip_distance: Array.from({ length: n }, (_, i) => 0.3 + i * 0.01),
  };
  const runs: number[] = [];
  // The session class's own run, spied on: what onnxruntime is actually handed.
  const proto = (ort.InferenceSession as unknown as { prototype: ort.InferenceSession }).prototype;
  const run = proto.run;
  try {
    const whole = await model.predict(columns, n);
    proto.run = function (this: ort.InferenceSession, feeds: ort.InferenceSession.FeedsType, ...rest: unknown[]) {
      runs.push(Object.values(feeds)[0].dims[0]);
      return (run as (...a: unknown[]) => ReturnType<typeof run>).call(this, feeds, ...rest);
    } as typeof run;
    const batched = await new Batcher(model, { maxBatchSize: 256, maxDelayMs: 0 }).predict(columns, n);
    assert.deepEqual(runs, [256, 256, 256, 256], "four runs; the last one padded, never more than 256 rows");
    assert.deepEqual(Array.from(batched.columns.duration), Array.from(whole.columns.duration));
  } finally {
    proto.run = run;
    await model.close();
  }
});
