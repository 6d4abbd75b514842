/**
 * `score publish` end to end against the real RabbitMQ.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { logLines, runScore, tempDir } from "../helpers.ts";
import { AMQP_URL, TestBroker } from "../queue/broker.ts";

Deno.test("score publish (real RabbitMQ)", async (t) => {
  await using dir = await tempDir();
  const csv = join(dir.path, "rides.csv");
  await Deno.writeTextFile(
    csv,
    "PULocationID,DOLocationID,trip_distance,ride_id\n130,205,3.66,256\n10,50,40,257\n1,2,oops,258\n",
  );

  await t.step("rows become the seed's events, persistent, confirmed, with the id as message_id", async () => {
    await using broker = await TestBroker.open();
    const events = await broker.exchange("rides");
    const received = await broker.collect(await broker.queue(events));
    const run = await runScore([
      "publish",
      "--input",
      csv,
      "--exchange",
      events,
      "--routing-key",
      "ride.new",
      "--amqp-url",
      AMQP_URL,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const done = logLines(run.stderr).find((l) => l.msg === "publish done");
    assert.equal(done?.published, 3);
    await received.waitFor(3);
    assert.deepEqual(received.json(), [
      { ride: { PULocationID: 130, DOLocationID: 205, trip_distance: 3.66 }, ride_id: 256 },
      { ride: { PULocationID: 10, DOLocationID: 50, trip_distance: 40 }, ride_id: 257 },
      { ride: { PULocationID: 1, DOLocationID: 2, trip_distance: "oops" }, ride_id: 258 },
    ]);
    const m = received.messages[0];
    assert.deepEqual(
      [m.fields.routingKey, m.properties.messageId, m.properties.deliveryMode, m.properties.contentType],
      [
        "ride.new",
        "256",
        2,
        "application/json",
      ],
    );
  });

  await t.step("--limit, --columns, --no-envelope, and the row number when there is no id column", async () => {
    await using broker = await TestBroker.open();
    const events = await broker.exchange("rides");
    const received = await broker.collect(await broker.queue(events));
    const run = await runScore([
      "publish",
      "--input",
      csv,
      "--exchange",
      events,
      "--amqp-url",
      AMQP_URL,
      "--limit",
      "2",
      "--columns",
      "trip_distance",
      "--no-envelope",
      "--id-column",
      "n",
    ]);
    assert.equal(run.code, 0, run.stderr);
    await received.waitFor(2);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(received.json(), [{ trip_distance: 3.66, n: 0 }, { trip_distance: 40, n: 1 }]);
  });

  await t.step("an unreachable broker fails with exit 69", async () => {
    const run = await runScore([
      "publish",
      "--input",
      csv,
      "--exchange",
      "x",
      "--amqp-url",
      "amqp://guest:secret@127.0.0.1:1",
    ]);
    assert.equal(run.code, 69);
    assert.doesNotMatch(run.stderr, /secret/);
  });
});
