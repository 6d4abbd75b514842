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
    // A run that takes `fixedMs` whatever its rows, and `rowUs` a row (busy, so exactly that long): no onnxruntime.
    const timed = (fixedMs: number, rowUs: number) =>
      ({
        run: (feeds: ort.InferenceSession.FeedsType) => {
          const rows = Number(Object.values(feeds)[0].dims[0]);
          const until = performance.now() + fixedMs + (rows * rowUs) / 1000;
          while (performance.now() < until) { /* busy */ }
          return Promise.resolve({});
        },
      }) as unknown as ort.InferenceSession;
    for (
      const [name, fixedMs, counted, less] of [
        // 0.8 ms over 2,048 rows is 0.39 us a row; taken off, 0.05 is left (0.15 if it were not: 0.8 ms over 8,192).
        ["lessFixed: a fixed part under 1 ms (a worker's messages) is taken off", 0.8, [0.4, 0.5], [0.04, 0.09]],
        // Past 1 ms, the rest is the model's own work on every run: 19 ms over 8,192 rows, 2.3 us a row.
        ["lessFixed: past 1 ms, the fixed part is the model's own and counts", 20, [9.7, 10.1], [2.3, 2.5]],
      ] as const
    ) {
      await t.step(name, async () => {
        const plain = await runCost(timed(fixedMs, 0.05), model.inputs, null, outputs);
        const lessFixed = await runCost(timed(fixedMs, 0.05), model.inputs, null, outputs, Infinity, 0, {
          lessFixed: true,
        });
        assert.ok(plain! >= counted[0] && plain! <= counted[1], `${plain} us a row counted`);
        assert.ok(lessFixed! >= less[0] && lessFixed! <= less[1], `${lessFixed} us a row less the fixed part`);
      });
    }
    await t.step("a run that fails: no cost", async () => {
      const failing = { run: () => Promise.reject(new Error("no")) } as unknown as ort.InferenceSession;
      assert.equal(await runCost(failing, model.inputs, null, outputs), undefined);
    });
  } finally {
    await session.release();
    await model.close();
  }
});
