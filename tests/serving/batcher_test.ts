import assert from "node:assert/strict";
import type { Model, Prediction } from "../../src/model/mod.ts";
import { Batcher } from "../../src/serving/batcher.ts";
import { rejection } from "../helpers.ts";

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
