/**
 * Models people bring, through the consumer's pure message handler: one
 * event per row, in the columns form and in the array form of [N,K] inputs,
 * each prediction checked against onnxruntime run directly on the row.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadModel, type Model } from "../../src/model/mod.ts";
import { MessageHandler } from "../../src/queue/message_handler.ts";
import type { EventMessage, Verdict } from "../../src/queue/message.ts";
import { Batcher } from "../../src/serving/batcher.ts";
import { jsonText, parseJson } from "../../src/value_codec.ts";
import { ALL_CASES, directRun, expectedJson, packedRow } from "../byom_cases.ts";
import { FIXTURES } from "../helpers.ts";

function event(body: unknown): EventMessage {
  return {
    body: new TextEncoder().encode(JSON.stringify(body)),
    properties: {},
    exchange: "events",
    routingKey: "event",
    redelivered: false,
  };
}

function prediction(v: Verdict): Record<string, unknown> {
  if (v.action !== "publish") throw new Error(`expected a prediction, got ${JSON.stringify(v)}`);
  // As published: JSON text, read back exactly.
  return parseJson(jsonText(v.record.prediction)) as Record<string, unknown>;
}

/** The handler of `model`'s events on the "events" exchange; the features are the whole body unless `paths` say. */
function handlerFor(model: Model, batcher: Batcher, paths = { featuresPath: "", idPath: "" }): MessageHandler {
  return new MessageHandler({
    served: () => ({ batcher, model }),
    ...paths,
    predictionExchange: "predictions",
    routingKey: model.name,
    deadLetterExchange: "events.dead-letter",
    deadLetterRoutingKey: `${model.name}.events`,
  });
}

Deno.test("consume: every model people bring predicts each event as onnxruntime does", async (t) => {
  for (const c of ALL_CASES) {
    await t.step(c.name, async () => {
      const model = await loadModel(c.path);
      const batcher = new Batcher(model, { maxBatchSize: 64, maxDelayMs: 1 });
      try {
        const handler = handlerFor(model, batcher, { featuresPath: "features", idPath: "id" });
        const direct = await directRun(model, c.rows);
        for (const [r, row] of c.rows.entries()) {
          const want = { ...expectedJson(model, direct, r), id: r };
          assert.deepEqual(prediction(await handler.handle(event({ id: r, features: row }))), want);
          const packed = packedRow(model, row);
          assert.deepEqual(prediction(await handler.handle(event({ id: r, features: packed }))), want);
        }
      } finally {
        await model.close();
      }
    });
  }
});

Deno.test("consume: a null feeds NaN, a bad value dead-letters naming its column", async () => {
  const model = await loadModel(join(FIXTURES, "models", "byom", "nk_regressor"));
  const batcher = new Batcher(model, { maxBatchSize: 64, maxDelayMs: 1 });
  const handler = handlerFor(model, batcher);
  try {
    const row = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
    const withNaN = (await directRun(model, [{ ...row, petal_width: NaN }])).get("variable")![0][0];
    assert.deepEqual(prediction(await handler.handle(event({ ...row, petal_width: null }))), { variable: withNaN });
    assert.deepEqual(prediction(await handler.handle(event({ float_input: [5.1, 3.5, 1.4, null] }))), {
      variable: withNaN,
    });
    const v = await handler.handle(event({ float_input: [5.1, "x", 1.4, 0.2] }));
    assert.equal(v.action, "dead-letter");
    assert.match(JSON.stringify(v), /column \\"float_input\\" value 1 is not a number/);
  } finally {
    await model.close();
  }
});

Deno.test("consume: class labels from the graph in the event body; strict categories dead-letter naming the value", async (t) => {
  const byom = join(FIXTURES, "models", "byom");
  const cases: [string, Record<string, unknown>, string, string[]][] = [
    ["svc_strings", { float_input: [1, 0, 0.5] }, "probabilities", ["cat", "dog", "bird"]],
    ["linear_int64_labels", { x: [1, 2, 3] }, "probabilities", ["3", "7", "11"]],
    ["zipmap_strings", { float_input: [1, 2, 3] }, "output_probability", ["setosa", "versicolor", "virginica"]],
  ];
  for (const [name, row, key, labels] of cases) {
    await t.step(`${name}: {label: probability}, as with a ZipMap`, async () => {
      const model = await loadModel(join(byom, name));
      const batcher = new Batcher(model, { maxBatchSize: 64, maxDelayMs: 1 });
      try {
        const p = prediction(await handlerFor(model, batcher).handle(event(row)));
        assert.deepEqual(Object.keys(p[key] as object), labels);
        const direct = (await directRun(model, [unpacked(row)])).get(key)![0];
        assert.deepEqual(Object.values(p[key] as object), direct);
      } finally {
        await batcher.drain();
        await model.close();
      }
    });
  }
  await t.step("onehot, strict: an unknown category dead-letters naming column and value", async () => {
    const model = await loadModel(join(byom, "onehot"), { strictCategories: true });
    const batcher = new Batcher(model, { maxBatchSize: 64, maxDelayMs: 1 });
    try {
      const handler = handlerFor(model, batcher);
      const v = await handler.handle(event({ color: "purple", zone: 10, distance: 1 }));
      assert.equal(v.action, "dead-letter");
      assert.match(JSON.stringify(v), /column \\"color\\" has category \\"purple\\" the model has never seen/);
      assert.deepEqual(prediction(await handler.handle(event({ color: "red", zone: 20, distance: 2 }))), {
        variable: 22,
      });
    } finally {
      await batcher.drain();
      await model.close();
    }
  });
});

/** A row whose [N,K] lists are spread into `<input>_<k>` columns, as `directRun` takes them. */
function unpacked(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row).flatMap(([k, v]) => Array.isArray(v) ? v.map((x, i) => [`${k}_${i}`, x]) : [[k, v]]),
  );
}
