import assert from "node:assert/strict";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { loadModel } from "../../src/model/mod.ts";
import { runCost } from "../../src/model/run_cost.ts";
import { MODELS } from "../helpers.ts";

Deno.test("runCost: a row's cost on zeros, stopping early once the answer is beyond doubt", async (t) => {
  const path = join(MODELS, "ride-duration-linreg");
  const model = await loadModel(path);
  const session = await ort.InferenceSession.create(join(path, "model.onnx"), { intraOpNumThreads: 1 });
  let calls = 0;
  const counted = {
    run: (feeds: ort.InferenceSession.FeedsType, fetches: readonly string[]) => {
      calls++;
      return session.run(feeds, fetches);
    },
  } as unknown as ort.InferenceSession;
  const outputs = model.outputs.map((o) => o.name);
  try {
    for (
      const [name, enough, little, runs] of [
        ["the fastest of eight timed runs after a warm-up", Infinity, 0, 9],
        ["one timed run when it is already over enough", 0, 0, 2],
        ["one timed run when it is already under little", Infinity, Infinity, 2],
      ] as const
    ) {
      await t.step(name, async () => {
        calls = 0;
        const cost = await runCost(counted, model.inputs, null, outputs, enough, little);
        assert.equal(calls, runs);
        assert.ok(cost !== undefined && cost > 0 && cost < 100, `${cost} us a row`);
      });
    }
    // Every run late by `ms` (as a worker's messages make it), whatever its rows: busy, so exactly that late.
    const late = (ms: number) =>
      ({
        run: (feeds: ort.InferenceSession.FeedsType, fetches: readonly string[]) => {
          const until = performance.now() + ms;
          while (performance.now() < until) { /* late */ }
          return session.run(feeds, fetches);
        },
      }) as unknown as ort.InferenceSession;
    await t.step("lessFixed: a one-row run's time is taken off, so a slow messenger is not a heavy model", async () => {
      const counted = await runCost(late(0.6), model.inputs, null, outputs);
      const less = await runCost(late(0.6), model.inputs, null, outputs, Infinity, 0, { lessFixed: true });
      // 0.6 ms over 2,048 rows is ~0.3 us a row; the linear model itself ~0.1.
      assert.ok(counted !== undefined && counted > 0.25, `${counted} us a row counted`);
      assert.ok(less !== undefined && less < 0.2, `${less} us a row less the fixed part`);
    });
    await t.step("lessFixed: past 1 ms, a run's fixed part is the model's own work, and counts", async () => {
      const less = await runCost(late(20), model.inputs, null, outputs, Infinity, 0, { lessFixed: true });
      // 19 ms over 8,192 rows: ~2.3 us a row.
      assert.ok(less !== undefined && less > 2, `${less} us a row`);
    });
    await t.step("a run that fails: no cost", async () => {
      const failing = { run: () => Promise.reject(new Error("no")) } as unknown as ort.InferenceSession;
      assert.equal(await runCost(failing, model.inputs, null, outputs), undefined);
    });
  } finally {
    await session.release();
    await model.close();
  }
});
