/**
 * `score publish` end to end against the real RabbitMQ.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliArgs, logLines, runScore, tempDir } from "../helpers.ts";
import { AMQP_URL, type Collector, TestBroker } from "../queue/broker.ts";

/**
 * Waits until `n` messages arrived, then shows none came after them: a marker published last
 * on the same exchange arrives after anything the run published, and is dropped from `received`.
 */
async function nothingMore(broker: TestBroker, exchange: string, received: Collector, n: number) {
  await received.waitFor(n);
  await broker.publish(exchange, ["end of run"]);
  await received.waitFor(n + 1);
  const last = received.messages.pop()!;
  assert.equal(last.content.toString(), "end of run", "a message came after the run's last");
}

Deno.test("score publish (real RabbitMQ)", async (t) => {
  await using dir = await tempDir();
  const csv = join(dir.path, "rides.csv");
  await Deno.writeTextFile(
    csv,
    "PULocationID,DOLocationID,trip_distance,ride_id\n130,205,3.66,256\n10,50,40,257\n1,2,oops,258\n",
  );

  await t.step("rows become the course's events, persistent, confirmed, with the id as message_id", async () => {
    await using broker = await TestBroker.open();
    const events = await broker.exchange("rides");
    const received = await broker.collect(await broker.queue(events));
    const run = await runScore([
      "publish",
      ...cliArgs({ "--input": csv, "--exchange": events, "--routing-key": "ride.new", "--amqp-url": AMQP_URL }),
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
      ...cliArgs({
        "--input": csv,
        "--exchange": events,
        "--amqp-url": AMQP_URL,
        "--limit": 2,
        "--columns": "trip_distance",
        "--no-envelope": true,
        "--id-column": "n",
      }),
    ]);
    assert.equal(run.code, 0, run.stderr);
    await nothingMore(broker, events, received, 2);
    assert.deepEqual(received.json(), [{ trip_distance: 3.66, n: 0 }, { trip_distance: 40, n: 1 }]);
  });

  await t.step("integer ids beyond 2^53 stay exact: distinct events keep distinct ids and message_ids", async () => {
    const big = join(dir.path, "big_ids.csv");
    await Deno.writeTextFile(
      big,
      "trip_distance,ride_id\n1,9007199254740993\n2,9007199254740992\n3,-9007199254740993\n4,9007199254740991\n",
    );
    await using broker = await TestBroker.open();
    const events = await broker.exchange("rides");
    const received = await broker.collect(await broker.queue(events));
    const run = await runScore(["publish", "--input", big, "--exchange", events, "--amqp-url", AMQP_URL]);
    assert.equal(run.code, 0, run.stderr);
    await received.waitFor(4);
    assert.deepEqual(received.messages.map((m) => [m.properties.messageId, m.content.toString()]), [
      ["9007199254740993", '{"ride":{"trip_distance":1},"ride_id":9007199254740993}'],
      ["9007199254740992", '{"ride":{"trip_distance":2},"ride_id":9007199254740992}'],
      ["-9007199254740993", '{"ride":{"trip_distance":3},"ride_id":-9007199254740993}'],
      ["9007199254740991", '{"ride":{"trip_distance":4},"ride_id":9007199254740991}'],
    ]);
  });

  await t.step("--input-format, --columns, --limit and --batch-size from the environment", async () => {
    const noExtension = join(dir.path, "rides.data");
    await Deno.copyFile(csv, noExtension);
    await using broker = await TestBroker.open();
    const events = await broker.exchange("rides");
    const received = await broker.collect(await broker.queue(events));
    const env = { SCORE_INPUT_FORMAT: "csv", SCORE_COLUMNS: "trip_distance", SCORE_LIMIT: "2", SCORE_BATCH_SIZE: "1" };
    const args = ["publish", "--input", noExtension, "--exchange", events, "--amqp-url", AMQP_URL];
    const run = await runScore(args, { env });
    assert.equal(run.code, 0, run.stderr);
    await nothingMore(broker, events, received, 2);
    assert.deepEqual(received.json(), [{ ride: { trip_distance: 3.66 }, ride_id: 256 }, {
      ride: { trip_distance: 40 },
      ride_id: 257,
    }]);
    const bad = await runScore(args, { env: { ...env, SCORE_BATCH_SIZE: "0" } });
    assert.equal(bad.code, 64, bad.stderr);
    assert.match(bad.stderr, /whole number/);
  });

  await t.step("wrong credentials: exit 77, as score consume, password hidden", async () => {
    const url = AMQP_URL.replace(/\/\/([^:]+):[^@]*@/, "//$1:wr0ng@");
    const run = await runScore(["publish", ...cliArgs({ "--input": csv, "--exchange": "x", "--amqp-url": url })]);
    assert.equal(run.code, 77, run.stderr);
    const errors = logLines(run.stderr).filter((l) => l.level === "error").map((l) => l.msg as string);
    assert.match(errors.join("\n"), /^The broker refused the credentials or the vhost: .*ACCESS.REFUSED/);
    assert.doesNotMatch(run.stderr, /wr0ng/);
  });

  await t.step(
    "a reserved --exchange name (amq.*): exit 64 naming the flag and the name, not the credentials",
    async () => {
      const run = await runScore([
        "publish",
        ...cliArgs({ "--input": csv, "--exchange": "amq.score-test", "--amqp-url": AMQP_URL }),
      ]);
      assert.equal(run.code, 64, run.stderr);
      const errors = logLines(run.stderr).filter((l) => l.level === "error").map((l) => l.msg as string);
      assert.deepEqual(errors, [
        '--exchange "amq.score-test" is a reserved exchange name: the broker keeps names starting with "amq." for itself; choose another name',
      ]);
    },
  );

  await t.step("an exchange with no queue bound: the broker returns the events, exit 69 with the counts", async () => {
    await using broker = await TestBroker.open();
    const events = await broker.exchange("rides"); // nothing bound
    const run = await runScore([
      "publish",
      ...cliArgs({ "--input": csv, "--exchange": events, "--routing-key": "ride", "--amqp-url": AMQP_URL }),
    ]);
    assert.equal(run.code, 69, run.stderr);
    const failed = logLines(run.stderr).find((l) => l.level === "error");
    assert.equal(failed?.code, "unavailable");
    assert.match(
      String(failed?.msg),
      new RegExp(
        `^[1-3] event\\(s\\) returned by the broker, 0 published, then stopped: no queue is bound to exchange ` +
          `"${events}" for routing key "ride"`,
      ),
    );
    assert.equal(logLines(run.stderr).find((l) => l.msg === "publish done"), undefined);
  });

  await t.step("an unreachable broker fails with exit 69", async () => {
    const run = await runScore([
      "publish",
      ...cliArgs({ "--input": csv, "--exchange": "x", "--amqp-url": "amqp://guest:secret@127.0.0.1:1" }),
    ]);
    assert.equal(run.code, 69);
    assert.doesNotMatch(run.stderr, /secret/);
  });
});
