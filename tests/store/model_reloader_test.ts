/**
 * The reloader on a real model folder: only a changed model is loaded and
 * swapped; a version that does not load, or is named otherwise, leaves the
 * serving one; reloads asked for while one runs are done once, after it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Model } from "../../src/model/mod.ts";
import { ModelReloader, openModel } from "../../src/store/mod.ts";
import { MODELS, tempDir, waitUntil } from "../helpers.ts";
import { startHttp } from "./servers.ts";

const mlmodel = (runId: string) => `flavors:\n  onnx:\n    data: model.onnx\nrun_id: ${runId}\n`;

Deno.test("ModelReloader", async (t) => {
  await using dir = await tempDir();
  const store = { cacheDir: join(dir.path, "cache") };
  await Deno.copyFile(join(MODELS, "ride-duration-linreg", "model.onnx"), join(dir.path, "model.onnx"));
  await Deno.writeTextFile(join(dir.path, "MLmodel"), mlmodel("run-a"));
  const uri = `file://${dir.path}#name=rides`;
  const opened = [{ uri, ...await openModel(uri, store) }];
  const swapped: Model[] = [];
  const reloader = new ModelReloader(opened, {
    store,
    load: {},
    swap: async (next) => {
      swapped.push(next);
      await new Promise((r) => setTimeout(r, 10));
    },
  });
  try {
    await t.step("unchanged: nothing loaded", async () => {
      assert.deepEqual(await reloader.reload(), [{ model: "rides", result: "unchanged", version: "run-a" }]);
      assert.equal(swapped.length, 0);
    });
    await t.step(
      "a new run: loaded and swapped; the reloader's record replaced, the caller's left as it was",
      async () => {
        await Deno.copyFile(join(MODELS, "ride-duration-rf", "model.onnx"), join(dir.path, "model.onnx"));
        await Deno.writeTextFile(join(dir.path, "MLmodel"), mlmodel("run-b"));
        const old = opened[0].model;
        assert.deepEqual(await reloader.reload(), [{
          model: "rides",
          result: "reloaded",
          version: "run-b",
          from: "run-a",
        }]);
        assert.equal(swapped.length, 1);
        assert.deepEqual(reloader.models, [swapped[0]]);
        assert.equal(opened[0].model, old, "nothing is changed in place");
        await old.close();
      },
    );
    await t.step("a version that does not load: failed, with why; the serving one stays", async () => {
      await Deno.writeTextFile(join(dir.path, "model.onnx"), "garbage");
      await Deno.writeTextFile(join(dir.path, "MLmodel"), mlmodel("run-c"));
      const [outcome] = await reloader.reload();
      assert.equal(outcome.result, "failed");
      assert.equal(outcome.version, "run-b");
      assert.match(outcome.reason!, /the new version does not load: Cannot load model/);
      assert.equal(swapped.length, 1);
    });
    await t.step("a folder gone: failed, not found", async () => {
      await Deno.remove(join(dir.path, "model.onnx"));
      const [outcome] = await reloader.reload();
      assert.equal(outcome.result, "failed");
      assert.match(outcome.reason!, /Model not found: ".*" does not hold model.onnx, the ONNX file its MLmodel names/);
    });
    await t.step("reloads asked for during one are done once, after it", async () => {
      await Deno.copyFile(join(MODELS, "ride-duration-linreg", "model.onnx"), join(dir.path, "model.onnx"));
      await Deno.writeTextFile(join(dir.path, "MLmodel"), mlmodel("run-d"));
      const calls = [reloader.reload(), reloader.reload(), reloader.reload()];
      const [first, second, third] = await Promise.all(calls);
      assert.equal(first[0].result, "reloaded");
      assert.equal(second, third, "the queued calls share one reload");
      assert.equal(second[0].result, "unchanged");
      assert.equal(swapped.length, 2);
      assert.deepEqual(reloader.counts(), [
        { model: "rides", result: "reloaded", count: 2 },
        { model: "rides", result: "failed", count: 2 },
      ]);
      await swapped[0].close();
    });
  } finally {
    for (const model of reloader.models) await model.close();
  }
});

Deno.test("ModelReloader: stopping it cancels a reload waiting on a store that hangs", async () => {
  await using http = startHttp();
  await using dir = await tempDir();
  http.files.set("/m/model.onnx", await Deno.readFile(join(MODELS, "ride-duration-linreg", "model.onnx")));
  const store = { cacheDir: dir.path };
  const opened = [{ uri: `${http.url}/m/model.onnx`, ...await openModel(`${http.url}/m/model.onnx`, store) }];
  const reloader = new ModelReloader(opened, { store, load: {}, swap: () => Promise.reject(new Error("no swap")) });
  const stop = reloader.listen(0);
  const release = Promise.withResolvers<void>();
  http.stall = release.promise;
  try {
    const hits = () => [...http.hits.values()].reduce((a, b) => a + b, 0);
    const before = hits();
    const reload = reloader.reload();
    await waitUntil(() => hits() !== before, "the reload to reach the store");
    const started = performance.now();
    await stop();
    assert.ok(performance.now() - started < 5_000, "stopping waited on the store");
    assert.deepEqual(await reload, [{ model: "m", result: "unchanged", version: opened[0].model.version }]);
  } finally {
    release.resolve();
    http.stall = undefined;
    await opened[0].model.close();
  }
});
