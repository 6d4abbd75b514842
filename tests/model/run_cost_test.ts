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
    await t.step("lessFixed: a one-row run's time is taken off, so a slow messenger is not a heavy model", async () => {
      // Every run 20 ms late (as a worker's messages could be), whatever its rows.
      const late = {
        run: async (feeds: ort.InferenceSession.FeedsType, fetches: readonly string[]) => {
          await new Promise((r) => setTimeout(r, 20));
          return await session.run(feeds, fetches);
        },
      } as unknown as ort.InferenceSession;
      const counted = await runCost(late, model.inputs, null, outputs, Infinity, Infinity);
      const less = await runCost(late, model.inputs, null, outputs, Infinity, Infinity, { lessFixed: true });
      // 20 ms over 2,048 rows is ~10 us a row (over 8,192, less the fixed part); the linear model itself ~0.1.
      assert.ok(counted !== undefined && counted > 9, `${counted} us a row counted`);
      assert.ok(less !== undefined && less < 2, `${less} us a row less the fixed part`);
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
