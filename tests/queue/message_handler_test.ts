/**
 * The pure message handler: events in, verdicts out, no broker.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { UnavailableError } from "../../src/errors.ts";
import { loadModel, type Model, ModelError } from "../../src/model/mod.ts";
import type { EventMessage, Verdict } from "../../src/queue/message.ts";
import { HEADERS, MessageHandler, type Scorer } from "../../src/queue/message_handler.ts";
import { Batcher } from "../../src/serving/batcher.ts";
import { DataPlane } from "../../src/serving/data_plane.ts";
import { MODELS, waitUntil } from "../helpers.ts";

const COURSE_EVENT = { ride: { PULocationID: 130, DOLocationID: 205, trip_distance: 3.66 }, ride_id: 256 };
const encoder = new TextEncoder();

function event(body: unknown, o: Partial<EventMessage> = {}): EventMessage {
  return {
    body: body instanceof Uint8Array ? body : encoder.encode(typeof body === "string" ? body : JSON.stringify(body)),
    properties: {},
    exchange: "rides",
    routingKey: "ride",
    redelivered: false,
    ...o,
  };
}

function handlerFor(
  scorer: Scorer,
  model: Model | { name: string; version: string; outputs: Model["outputs"] },
  o = {},
) {
  return new MessageHandler({
    served: () => ({ batcher: scorer, model }),
    featuresPath: "ride",
    idPath: "ride_id",
    predictionExchange: "predictions",
    routingKey: "ride-duration-linreg",
    deadLetterExchange: "rides.dead-letter",
    deadLetterRoutingKey: "ride-duration-linreg.rides",
    ...o,
  });
}

function published(v: Verdict) {
  if (v.action !== "publish") throw new Error(`expected a prediction, got ${JSON.stringify(v)}`);
  return v;
}

Deno.test("message handler", async (t) => {
  const model = await loadModel(join(MODELS, "ride-duration-linreg"), { renames: { duration: "ride_duration" } });
  const batcher = new Batcher(model, { maxBatchSize: 256, maxDelayMs: 1 });
  try {
    await t.step("the course's event gives the course's record, addressed to the prediction exchange", async () => {
      const v = published(
        await handlerFor(batcher, model).handle(event(COURSE_EVENT, { properties: { messageId: "e-1" } })),
      );
      assert.deepEqual(Object.keys(v.record), ["model", "version", "prediction"]);
      assert.deepEqual(v.record.model, "ride-duration-linreg");
      assert.deepEqual(v.record.version, model.version);
      assert.deepEqual(v.record.prediction.ride_id, 256);
      assert.deepEqual(v.record.prediction.ride_duration, 12.78553032985699);
      assert.deepEqual(v.messages.length, 1);
      const [m] = v.messages;
      assert.deepEqual([m.exchange, m.routingKey], ["predictions", "ride-duration-linreg"]);
      assert.deepEqual(JSON.parse(new TextDecoder().decode(m.body)), v.record);
      assert.deepEqual(m.properties.contentType, "application/json");
      // The model and version are in the body: no header table, which costs the broker on every message.
      assert.equal(m.properties.headers, undefined);
    });

    await t.step("correlation_id: the event's, else its message_id, else its id", async (t) => {
      const cases = [
        { properties: { correlationId: "c-1", messageId: "m-1" }, want: "c-1" },
        { properties: { messageId: "m-1" }, want: "m-1" },
        { properties: {}, want: "256" },
      ];
      for (const c of cases) {
        await t.step(c.want, async () => {
          const v = published(
            await handlerFor(batcher, model).handle(event(COURSE_EVENT, { properties: c.properties })),
          );
          assert.deepEqual(v.messages[0].properties.correlationId, c.want);
        });
      }
    });

    await t.step("reply_to gets the prediction too, through the default exchange", async () => {
      const v = published(
        await handlerFor(batcher, model).handle(event(COURSE_EVENT, { properties: { replyTo: "amq.gen-reply" } })),
      );
      assert.deepEqual(v.messages.map((m) => [m.exchange, m.routingKey]), [["predictions", "ride-duration-linreg"], [
        "",
        "amq.gen-reply",
      ]]);
    });

    await t.step("paths: nested features and ids, the body itself, no id", async (t) => {
      const cases = [
        {
          name: "nested",
          o: { featuresPath: "data.ride", idPath: "meta.id" },
          body: { data: { ride: COURSE_EVENT.ride }, meta: { id: "r-9" } },
          id: ["id", "r-9"],
        },
        {
          name: "body is the features",
          o: { featuresPath: "", idPath: "ride_id" },
          body: { ...COURSE_EVENT.ride, ride_id: 7 },
          id: ["ride_id", 7],
        },
        { name: "no id", o: { featuresPath: "ride", idPath: "" }, body: COURSE_EVENT, id: undefined },
      ];
      for (const c of cases) {
        await t.step(c.name, async () => {
          const v = published(await handlerFor(batcher, model, c.o).handle(event(c.body)));
          assert.deepEqual(v.record.prediction.ride_duration, 12.78553032985699);
          assert.deepEqual(Object.keys(v.record.prediction).length, c.id ? 2 : 1);
          if (c.id) assert.deepEqual(v.record.prediction[c.id[0] as string], c.id[1]);
        });
      }
    });

    await t.step(
      "an event with no id and no message or correlation id: its prediction is marked uncorrelated",
      async (t) => {
        const cases: [string, Partial<EventMessage>, unknown, boolean][] = [
          ["no id at the id path, no properties", {}, { ride: COURSE_EVENT.ride }, true],
          ["a message id", { properties: { messageId: "m-1" } }, { ride: COURSE_EVENT.ride }, false],
          ["a correlation id", { properties: { correlationId: "c-1" } }, { ride: COURSE_EVENT.ride }, false],
          ["the id at the id path", {}, COURSE_EVENT, false],
        ];
        for (const [name, o, body, uncorrelated] of cases) {
          await t.step(name, async () => {
            const v = published(await handlerFor(batcher, model).handle(event(body, o)));
            assert.equal(v.uncorrelated ?? false, uncorrelated);
          });
        }
        await t.step("--no-id-path: events carry no id by design, nothing is marked", async () => {
          const v = published(
            await handlerFor(batcher, model, { idPath: "" }).handle(event({ ride: COURSE_EVENT.ride })),
          );
          assert.equal(v.uncorrelated, undefined);
        });
      },
    );

    await t.step("poison events are dead-lettered with the reason, the body and headers kept", async (t) => {
      const cases = [
        { name: "not JSON", body: "ride 256, please", code: "not_json", reason: /not JSON/ },
        {
          name: "not UTF-8 (Latin-1)",
          body: new Uint8Array([...encoder.encode('{"ride": {"ride_id": "caf'), 0xe9, ...encoder.encode('"}}')]),
          code: "not_utf8",
          reason: /not UTF-8 text/,
        },
        {
          name: "features missing",
          body: { ride_id: 1 },
          code: "missing_features",
          reason: /"ride" is not a JSON object/,
        },
        {
          name: "features not an object",
          body: { ride: [130, 205, 3.66] },
          code: "missing_features",
          reason: /not a JSON object/,
        },
        {
          name: "a feature missing",
          body: { ride: { PULocationID: 130, trip_distance: 1 } },
          code: "missing_inputs",
          reason: /DOLocationID/,
        },
        {
          name: "a feature of the wrong type",
          body: { ride: { ...COURSE_EVENT.ride, trip_distance: "far" } },
          code: "invalid_features",
          reason: /trip_distance/,
        },
        {
          name: "an id that is not an integer",
          body: { ride: { ...COURSE_EVENT.ride, PULocationID: 1.5 } },
          code: "invalid_features",
          reason: /PULocationID/,
        },
      ];
      for (const c of cases) {
        await t.step(c.name, async () => {
          const e = event(c.body, { properties: { messageId: "m-7", headers: { tenant: "a" } } });
          const v = await handlerFor(batcher, model).handle(e);
          if (v.action !== "dead-letter") throw new Error(`expected a dead letter, got ${v.action}`);
          assert.deepEqual(v.code, c.code);
          assert.match(v.reason, c.reason);
          const m = v.message;
          assert.deepEqual([m.exchange, m.routingKey], ["rides.dead-letter", "ride-duration-linreg.rides"]);
          assert.deepEqual(m.body, e.body);
          assert.deepEqual(m.properties.messageId, "m-7");
          assert.deepEqual(m.properties.headers?.tenant, "a");
          assert.deepEqual(m.properties.headers?.[HEADERS.reason], v.reason);
          assert.deepEqual(m.properties.headers?.[HEADERS.code], c.code);
          assert.deepEqual(m.properties.headers?.[HEADERS.exchange], "rides");
          assert.deepEqual(m.properties.headers?.[HEADERS.routingKey], "ride");
        });
      }
    });

    await t.step("concurrent events share one model run and each gets its own prediction", async () => {
      const sizes: number[] = [];
      const shared = new Batcher(model, { maxBatchSize: 256, maxDelayMs: 5, onBatch: (n) => sizes.push(n) });
      const handler = handlerFor(shared, model);
      const events = Array.from(
        { length: 300 },
        (_, i) => ({ ride: { ...COURSE_EVENT.ride, trip_distance: i % 2 ? 3.66 : 40 }, ride_id: i }),
      );
      const verdicts = await Promise.all(events.map((e) => handler.handle(event(e))));
      assert.deepEqual(sizes, [256, 44]);
      const alone =
        published(await handler.handle(event({ ride: { ...COURSE_EVENT.ride, trip_distance: 40 }, ride_id: 0 })))
          .record;
      verdicts.forEach((v, i) => {
        const { prediction } = published(v).record;
        assert.deepEqual(prediction.ride_id, i);
        if (i % 2) assert.deepEqual(prediction.ride_duration, 12.78553032985699);
        else assert.deepEqual(prediction.ride_duration, alone.prediction.ride_duration);
      });
    });

    await t.step("the RF model gives the course's 21.29", async () => {
      const rf = await loadModel(join(MODELS, "ride-duration-rf"), { renames: { duration: "ride_duration" } });
      try {
        const v = published(await handlerFor(new Batcher(rf), rf).handle(event(COURSE_EVENT)));
        assert.deepEqual(v.record.version, "e1efc53e9bd149078b0c12aeaa6365df");
        assert.ok(
          Math.abs((v.record.prediction.ride_duration as number) - 21.29) < 0.005,
          `got ${v.record.prediction.ride_duration}`,
        );
      } finally {
        await rf.close();
      }
    });
  } finally {
    await model.close();
  }
});

Deno.test("message handler: a failing model requeues once, then dead-letters", async (t) => {
  const identity = {
    name: "m",
    version: "1",
    outputs: [{ name: "duration", key: "duration", type: "float64" as const, shape: [""], columns: ["duration"] }],
  };
  const cases = [
    { name: "model failure, first delivery", err: ModelError.runFailed("boom"), redelivered: false, want: "requeue" },
    {
      name: "model failure, delivered before",
      err: ModelError.runFailed("boom"),
      redelivered: true,
      want: "dead-letter",
    },
    { name: "overloaded, first delivery", err: new UnavailableError("busy"), redelivered: false, want: "requeue" },
    { name: "overloaded, delivered before", err: new UnavailableError("busy"), redelivered: true, want: "requeue" },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const failing: Scorer = { predict: () => Promise.reject(c.err) };
      const v = await handlerFor(failing, identity).handle(event(COURSE_EVENT, { redelivered: c.redelivered }));
      assert.deepEqual(v.action, c.want);
      if (v.action === "dead-letter") {
        assert.deepEqual(v.code, "model_failed");
        assert.match(v.reason, /boom \(failed again after a requeue\)/);
      }
      if (v.action === "requeue") assert.ok(v.reason.length > 0);
    });
  }
});

Deno.test("message handler: event ids survive exactly, and the correlation id is always sendable", async (t) => {
  const model = await loadModel(join(MODELS, "ride-duration-linreg"), { renames: { duration: "ride_duration" } });
  const batcher = new Batcher(model, { maxBatchSize: 256, maxDelayMs: 1 });
  const bodyText = (v: Verdict) => new TextDecoder().decode(published(v).messages[0].body);
  const features = JSON.stringify(COURSE_EVENT.ride);
  try {
    await t.step("an integer id beyond 2^53: the exact digits in the body and the correlation id", async () => {
      const v = await handlerFor(batcher, model).handle(event(`{"ride": ${features}, "ride_id": 9007199254740993}`));
      assert.match(bodyText(v), /"ride_id":9007199254740993\}/);
      assert.deepEqual(published(v).messages[0].properties.correlationId, "9007199254740993");
      assert.deepEqual(published(v).record.prediction.ride_id, 9007199254740993n);
    });

    await t.step("an object id: its JSON text is the correlation id", async () => {
      const v = published(
        await handlerFor(batcher, model).handle(event({ ride: COURSE_EVENT.ride, ride_id: { a: 1 } })),
      );
      assert.deepEqual(v.messages[0].properties.correlationId, '{"a":1}');
      assert.match(bodyText(v), /"ride_id":\{"a":1\}/);
    });

    await t.step("an id over 255 bytes: no correlation id (the id is in the body)", async () => {
      for (const id of ["r".repeat(256), "é".repeat(128), { long: "x".repeat(300) }]) {
        const v = published(await handlerFor(batcher, model).handle(event({ ride: COURSE_EVENT.ride, ride_id: id })));
        assert.deepEqual(v.messages[0].properties.correlationId, undefined);
        assert.deepEqual(JSON.parse(bodyText(v)).prediction.ride_id, id);
      }
      const v = published(
        await handlerFor(batcher, model).handle(event({ ride: COURSE_EVENT.ride, ride_id: "r".repeat(255) })),
      );
      assert.deepEqual(v.messages[0].properties.correlationId, "r".repeat(255));
    });

    await t.step("a dead letter keeps every property; expiration and user_id move to headers", async () => {
      const properties = {
        contentType: "application/json",
        contentEncoding: "identity",
        headers: { tenant: "a" },
        deliveryMode: 2,
        priority: 3,
        correlationId: "c-1",
        replyTo: "replies",
        expiration: "60000",
        messageId: "m-1",
        timestamp: 1_700_000_000,
        type: "ride.requested",
        userId: "guest",
        appId: "backend",
      };
      const v = await handlerFor(batcher, model).handle(event("not json", { properties }));
      if (v.action !== "dead-letter") throw new Error(`expected a dead letter, got ${v.action}`);
      const { headers, ...rest } = v.message.properties;
      const { headers: _, ...others } = properties;
      assert.deepEqual(rest, { ...others, expiration: undefined, userId: undefined });
      assert.deepEqual(headers?.tenant, "a");
      assert.deepEqual(headers?.[HEADERS.expiration], "60000");
      assert.deepEqual(headers?.[HEADERS.userId], "guest");
    });
  } finally {
    await batcher.drain();
    await model.close();
  }
});

Deno.test("message handler: a prediction that cannot be published is dead-lettered with the reason", async (t) => {
  const identity = {
    name: "m",
    version: "1",
    outputs: [{ name: "duration", key: "duration", type: "float64" as const, shape: [""], columns: ["duration"] }],
  };
  const handler = handlerFor({ predict: () => Promise.reject(new Error("unused")) }, identity);
  const e = event(COURSE_EVENT, { properties: { messageId: "m-1", timestamp: 1_700_000_000 } });
  const cases = [
    {
      name: "unroutable",
      failure: { kind: "unroutable" as const, exchange: "predictions", routingKey: "m" },
      code: "unroutable",
      reason: "unroutable: no queue bound to predictions for m",
    },
    {
      name: "refused by the client",
      failure: { kind: "refused" as const, error: "value too long" },
      code: "unpublishable",
      reason: "the prediction could not be published: value too long",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const v = handler.publishFailed(e, c.failure);
      if (v.action !== "dead-letter") throw new Error(`expected a dead letter, got ${v.action}`);
      assert.deepEqual([v.code, v.reason], [c.code, c.reason]);
      assert.deepEqual(v.message.body, e.body);
      assert.deepEqual(v.message.properties.timestamp, 1_700_000_000);
      assert.deepEqual(v.message.properties.headers?.[HEADERS.reason], c.reason);
      assert.deepEqual(v.message.properties.headers?.[HEADERS.code], c.code);
    });
  }
});

Deno.test("message handler over a data plane: a swap there labels the events after it with the new version", async () => {
  const a = await loadModel(join(MODELS, "ride-duration-linreg"), { manifest: { name: "rides", version: "a" } });
  const b = await loadModel(join(MODELS, "ride-duration-rf"), { manifest: { name: "rides", version: "b" } });
  // A lone event waits 300 ms for company: the one sent before the swap is surely in flight when it comes.
  const plane = new DataPlane([a], { batching: { maxBatchSize: 2, maxDelayMs: 300 } });
  const handler = new MessageHandler({
    served: () => plane.served("rides"),
    featuresPath: "ride",
    idPath: "ride_id",
    predictionExchange: "predictions",
    routingKey: "rides",
    deadLetterExchange: "rides.dead-letter",
    deadLetterRoutingKey: "rides.rides",
  });
  try {
    const before = handler.handle(event(COURSE_EVENT));
    await waitUntil(() => plane.queuedRows()[0].rows === 1, "the event in the batcher");
    const swapped = plane.swap(b);
    const after = [handler.handle(event(COURSE_EVENT)), handler.handle(event(COURSE_EVENT))];
    const versions = [await before, ...await Promise.all(after)].map((v) => published(v).record.version);
    await swapped;
    assert.deepEqual(versions, ["a", "b", "b"]);
  } finally {
    await plane.close();
  }
});
