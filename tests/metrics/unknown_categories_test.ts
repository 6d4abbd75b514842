/**
 * `score_unknown_categories_total`: read off the loaded models at each
 * scrape, never going down when a reload swaps a model out; and consume's
 * metrics carry it for the model consuming.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { metricsText, Registry, unknownCategoriesCounter } from "../../src/metrics/mod.ts";
import { loadModel, type Model } from "../../src/model/mod.ts";
import { ConsumerMetrics } from "../../src/queue/consumer_metrics.ts";
import { FIXTURES } from "../helpers.ts";

const ONEHOT = join(FIXTURES, "models", "byom", "onehot");
const UNKNOWN = { color: ["purple", "red"], zone: [10, 99], distance: [1, 2] };

function counted(text: string): string[] {
  return text.split("\n").filter((l) => l.startsWith("score_unknown_categories_total{")).sort();
}

Deno.test("unknownCategoriesCounter: by model and column, kept across a swap", async () => {
  const first = await loadModel(ONEHOT);
  const second = await loadModel(ONEHOT);
  try {
    const registry = new Registry();
    let served: Model[] = [first];
    unknownCategoriesCounter(registry, () => served);
    assert.deepEqual(counted(await metricsText(registry)), [
      `score_unknown_categories_total{model="onehot",column="color"} 0`,
      `score_unknown_categories_total{model="onehot",column="zone"} 0`,
    ]);
    await first.predict(UNKNOWN, 2);
    assert.deepEqual(counted(await metricsText(registry)), [
      `score_unknown_categories_total{model="onehot",column="color"} 1`,
      `score_unknown_categories_total{model="onehot",column="zone"} 1`,
    ]);
    // counted by the old model after the last scrape, then swapped out: still counted
    await first.predict(UNKNOWN, 2);
    served = [second];
    await second.predict({ color: ["mauve"], zone: [10], distance: [1] }, 1);
    assert.deepEqual(counted(await metricsText(registry)), [
      `score_unknown_categories_total{model="onehot",column="color"} 3`,
      `score_unknown_categories_total{model="onehot",column="zone"} 2`,
    ]);
  } finally {
    await first.close();
    await second.close();
  }
});

Deno.test("ConsumerMetrics: the consuming model's unknown categories", async () => {
  const model = await loadModel(ONEHOT);
  try {
    const metrics = new ConsumerMetrics(model.name);
    assert.deepEqual(counted(await metrics.render()), []);
    metrics.current = model;
    await model.predict(UNKNOWN, 2);
    assert.deepEqual(counted(await metrics.render()), [
      `score_unknown_categories_total{model="onehot",column="color"} 1`,
      `score_unknown_categories_total{model="onehot",column="zone"} 1`,
    ]);
  } finally {
    await model.close();
  }
});
