/**
 * `score consume` end to end: the real launcher against the real RabbitMQ.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { usableCpus } from "../../src/cli/usable_cpus.ts";
import { loadModel } from "../../src/model/mod.ts";
import { DatasetProfile } from "../../src/monitor/mod.ts";
import { rowsToColumns } from "../../src/rows.ts";
import { directRun, expectedJson, packedRow, vectorRow } from "../byom_cases.ts";
import { cliArgs, FIXTURES, logLines, MODELS, randomName, runScore, tempDir, waitUntil } from "../helpers.ts";
import { AMQP_URL, closeConnectionsNamed, COURSE_EVENT, TestBroker } from "../queue/broker.ts";
import { Consumer } from "./consumer_process.ts";
import { atTerminal } from "./terminal.ts";

const rides = (n: number, from = 0) =>
  Array.from(
    { length: n },
    (_, i) => ({ ride: { ...COURSE_EVENT.ride, trip_distance: 1 + ((from + i) % 30) }, ride_id: from + i }),
  );

/** What `score consume` declares by default for a model on an exchange. */
function defaults(broker: TestBroker, model: string, exchange: string) {
  broker.track({
    queues: [`${model}.${exchange}`, `${model}.${exchange}.dead-letter`],
    exchanges: [`${exchange}.dead-letter`],
  });
}

/**
 * The exchanges `score consume` reads and writes (random names), a collector
 * on the predictions, and the queues `models` declare, deleted at the end.
 */
async function exchangesFor(broker: TestBroker, models: string[], eventsPrefix = "rides") {
  const events = await broker.exchange(eventsPrefix);
  const predictionExchange = await broker.exchange("predictions");
  const predictions = await broker.collect(await broker.queue(predictionExchange));
  for (const model of models) {
    defaults(broker, model, events);
    // The queue each model keeps its predictions in (besides the test's own).
    broker.track({ queues: [`${predictionExchange}.${model}`] });
  }
  return { events, predictionExchange, predictions };
}

/** The flags that consume `model`'s events from `events` into `predictionExchange`. */
function consumeFlags(model: string, events: string, predictionExchange: string) {
  return { "--model": model, "--exchange": events, "--prediction-exchange": predictionExchange };
}

/**
 * The exchanges of the linear model's events and of its predictions, with nothing bound to the latter, and the
 * flags that consume the one into the other.
 */
async function unboundExchanges(broker: TestBroker) {
  const events = await broker.exchange("rides");
  const predictionExchange = await broker.exchange("predictions");
  defaults(broker, "ride-duration-linreg", events);
  return { events, predictionExchange, flags: consumeFlags("ride-duration-linreg", events, predictionExchange) };
}

/** The linreg model's queue, declared and bound as consume does, holding `n` ride events before any consumer starts. */
async function backlog(broker: TestBroker, events: string, n: number): Promise<string> {
  const queue = `ride-duration-linreg.${events}`;
  await broker.channel.assertQueue(queue, { durable: true });
  await broker.channel.bindQueue(queue, events, "#");
  await broker.publish(events, rides(n));
  return queue;
}

Deno.test("score consume --help and usage errors", async (t) => {
  await t.step("--help lists the flags", async () => {
    const { code, stdout } = await runScore(["consume", "--help"]);
    assert.equal(code, 0);
    for (
      const flag of [
        ...cliArgs({
          "--exchange": true,
          "--prediction-exchange": true,
          "--prediction-queue": true,
          "--queue": true,
          "--binding-key": true,
          "--prefetch": true,
          "--dry-run": true,
          "--metrics-port": true,
          "--host": true,
          "--features-path": true,
          "--id-path": true,
          "--dead-letter-exchange": true,
          "--connection-name": true,
          "--workers": true,
        }),
      ]
    ) {
      assert.match(stdout, new RegExp(flag));
    }
  });
  await t.step("--metrics-port in use: a usage error naming the port and the flag", async () => {
    using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const { code, stderr } = await runScore([
      "consume",
      ...cliArgs({
        "--model": "ride-duration-linreg",
        "--exchange": "x",
        "--dry-run": true,
        "--metrics-port": taken.addr.port,
        "--amqp-url": "amqp://127.0.0.1:1",
      }),
    ]);
    assert.equal(code, 64, stderr);
    assert.match(
      stderr,
      new RegExp(`"Port ${taken.addr.port} on 127\\.0\\.0\\.1 is already in use \\(--metrics-port\\)"`),
    );
    assert.doesNotMatch(stderr, /os error|internal/);
  });
  await t.step("--prediction-exchange is required unless --dry-run", async () => {
    const { code, stderr } = await runScore(["consume", "--model", "ride-duration-linreg", "--exchange", "x"]);
    assert.equal(code, 64);
    assert.match(stderr, /--prediction-exchange/);
  });
  for (
    const [name, args, env, message] of [
      ["--workers 2", ["--workers", "2"], {}, /--dry-run watches with one consumer: --workers must be 1"/],
      ["SCORE_WORKERS=2", [], { SCORE_WORKERS: "2" }, /--workers must be 1 \(SCORE_WORKERS=2\)"/],
    ] as const
  ) {
    await t.step(`--dry-run watches with one consumer: ${name} is refused`, async () => {
      const { code, stderr } = await runScore(
        ["consume", "--model", "ride-duration-linreg", "--exchange", "x", "--dry-run", ...args],
        { env },
      );
      assert.equal(code, 64);
      assert.match(stderr, message);
    });
  }

  for (const flag of ["--dead-letter-exchange", "--prediction-exchange"]) {
    await t.step(`${flag} naming the events exchange is refused (it would loop)`, async () => {
      const { code, stderr } = await runScore([
        "consume",
        "--model",
        "ride-duration-linreg",
        "--exchange",
        "x",
        ...(flag === "--prediction-exchange" ? [] : ["--prediction-exchange", "p"]),
        flag,
        "x",
      ]);
      assert.equal(code, 64);
      assert.match(stderr, new RegExp(`${flag} names the events exchange \\(--exchange x\\)`));
    });
  }
  await t.step("--prefetch beyond AMQP's 65535 is refused", async () => {
    const { code, stderr } = await runScore(
      ["consume", "--model", "ride-duration-linreg", "--exchange", "x", "--dry-run", "--prefetch", "70000"],
    );
    assert.equal(code, 64);
    assert.match(stderr, /--prefetch.*from 1 to 65535/s);
  });

  await t.step("--prediction-queue has nothing to receive in a dry run", async () => {
    const { code, stderr } = await runScore(
      ["consume", "--model", "ride-duration-linreg", "--exchange", "x", "--dry-run", "--prediction-queue", "q"],
    );
    assert.equal(code, 64);
    assert.match(stderr, /--prediction-queue/);
  });
});

Deno.test("score consume: a broker that is down or refuses us", async (t) => {
  /** A consumer of a broker that is not there (nothing listens on port 1), logging in with `password`. */
  const unreachable = (password: string, env: Record<string, string | undefined> = {}) =>
    new Consumer(
      cliArgs({
        "--model": "ride-duration-linreg",
        "--exchange": "x",
        "--prediction-exchange": "y",
        "--amqp-url": `amqp://guest:${password}@127.0.0.1:1`,
      }),
      env,
    );
  await t.step("down: retries with backoff, never logs the password, SIGTERM exits 0", async () => {
    const c = unreachable("s3cret");
    let code: number;
    try {
      await c.waitForLog("cannot reach the broker; retrying");
      await waitUntil(
        () => c.logs.filter((l) => l.msg === "cannot reach the broker; retrying").length >= 3,
        "three attempts",
      );
    } finally {
      code = await c.stop();
    }
    assert.equal(code, 0);
    const retries = c.logs.filter((l) => l.msg === "cannot reach the broker; retrying");
    assert.ok(retries.length >= 3, `${retries.length} attempts`);
    assert.deepEqual(retries.slice(0, 3).map((l) => l.attempt), [0, 1, 2]);
    assert.doesNotMatch(JSON.stringify(c.logs), /s3cret/);
  });
  await t.step("auto leaves a CPU to a broker on this machine", async () => {
    // The suite pins SCORE_WORKERS=1 (tests/helpers.ts): unset here, as an operator who sets nothing runs it.
    const c = unreachable("guest", { SCORE_WORKERS: undefined });
    try {
      // Stopped once it runs (its signal handlers set), as the step above stops it.
      await c.waitForLog("cannot reach the broker; retrying");
    } finally {
      assert.equal(await c.stop(), 0);
    }
    const cpus = usableCpus();
    const { workers, from, why } = c.logs.find((l) => l.msg === "workers")!;
    assert.deepEqual({ workers, from, why }, {
      workers: Math.max(1, cpus - 1),
      from: "default",
      why: cpus > 1 ? "a CPU left for the broker on this machine" : undefined,
    });
  });
  await t.step("wrong credentials: exit 77 at once, password hidden", async () => {
    const url = AMQP_URL.replace(/\/\/([^:]+):[^@]*@/, "//$1:wr0ng@");
    const { code, stderr } = await runScore([
      "consume",
      ...cliArgs({
        "--model": "ride-duration-linreg",
        "--exchange": "x",
        "--prediction-exchange": "y",
        "--amqp-url": url,
      }),
    ]);
    assert.equal(code, 77, stderr);
    assert.doesNotMatch(stderr, /wr0ng/);
  });
  const reserved: [string, Record<string, string>, RegExp][] = [
    ["--exchange", { "--exchange": "amq.score-test", "--prediction-exchange": "y" }, /^--exchange "amq\.score-test"/],
    [
      "--prediction-exchange",
      { "--exchange": randomName("rides"), "--prediction-exchange": "amq.score-test" },
      /^--prediction-exchange "amq\.score-test"/,
    ],
  ];
  for (const [flag, flags, message] of reserved) {
    await t.step(
      `a reserved ${flag} name (amq.*): exit 64 naming the flag and the name, not the credentials`,
      async () => {
        await using broker = await TestBroker.open();
        // What the run may declare before the refused name.
        if (flags["--exchange"] !== "amq.score-test") broker.track({ exchanges: [flags["--exchange"]] });
        const { code, stderr } = await runScore([
          "consume",
          ...cliArgs({ "--model": "ride-duration-linreg", "--amqp-url": AMQP_URL, ...flags }),
        ]);
        assert.equal(code, 64, stderr);
        const errors = logLines(stderr).filter((l) => l.level === "error").map((l) => l.msg as string);
        assert.match(errors.join("\n"), message);
        assert.match(errors.join("\n"), /is a reserved exchange name: the broker keeps names starting with "amq\."/);
        assert.doesNotMatch(stderr, /credentials/);
      },
    );
  }
});

Deno.test("score consume (real RabbitMQ)", async (t) => {
  await t.step(
    "1 to N: linreg and RF consume one exchange; every event gets both predictions, the course's values",
    async () => {
      await using broker = await TestBroker.open();
      const { events, predictionExchange, predictions } = await exchangesFor(broker, [
        "ride-duration-linreg",
        "ride-duration-rf",
      ]);
      const common = [
        ...cliArgs({
          "--exchange": events,
          "--prediction-exchange": predictionExchange,
          "--rename": "duration=ride_duration",
        }),
      ];
      const linreg = new Consumer(["--model", "ride-duration-linreg", ...common]);
      const rf = new Consumer(["--model", "ride-duration-rf", ...common]);
      try {
        await Promise.all([linreg.waitForLog("consuming"), rf.waitForLog("consuming")]);
        await broker.publish(events, [COURSE_EVENT, ...rides(99, 1000)]);
        await predictions.waitFor(200);
        const byModel = (m: string) =>
          predictions.messages.filter((x) => x.fields.routingKey === m).map((x) => JSON.parse(x.content.toString()));
        for (const m of ["ride-duration-linreg", "ride-duration-rf"]) {
          assert.deepEqual(
            new Set(byModel(m).map((p) => p.prediction.ride_id)),
            new Set([256, ...rides(99, 1000).map((r) => r.ride_id)]),
          );
        }
        const courseRide = (m: string) => byModel(m).find((p) => p.prediction.ride_id === 256);
        assert.deepEqual(Object.keys(courseRide("ride-duration-linreg")), ["model", "version", "prediction"]);
        assert.equal(courseRide("ride-duration-linreg").prediction.ride_duration, 12.78553032985699);
        assert.equal(courseRide("ride-duration-rf").version, "e1efc53e9bd149078b0c12aeaa6365df");
        assert.ok(Math.abs(courseRide("ride-duration-rf").prediction.ride_duration - 21.29) < 0.005);
      } finally {
        assert.deepEqual(await Promise.all([linreg.stop(), rf.stop()]), [0, 0]);
      }
    },
  );

  await t.step("two workers of one model share its queue: every event predicted, none twice", async () => {
    await using broker = await TestBroker.open();
    const { events, predictionExchange, predictions } = await exchangesFor(broker, ["ride-duration-linreg"]);
    const args = [
      ...cliArgs({
        ...consumeFlags("ride-duration-linreg", events, predictionExchange),
        "--prefetch": 20,
      }),
    ];
    const workers = [new Consumer(args), new Consumer(args)];
    const n = 2000;
    try {
      await Promise.all(workers.map((w) => w.waitForLog("consuming")));
      await broker.publish(events, rides(n));
      await predictions.waitFor(n);
    } finally {
      assert.deepEqual(await Promise.all(workers.map((w) => w.stop())), [0, 0]);
    }
    // Once both stopped, every prediction they published is on its way: a duplicate would show in the count.
    const stopped = await Promise.all(workers.map((w) => w.waitForLog("consumer stopped")));
    const published = stopped[0].published + stopped[1].published;
    await waitUntil(() => predictions.messages.length >= published, `${published} predictions`);
    const ids = predictions.json().map((p) => p.prediction.ride_id);
    assert.equal(ids.length, n);
    assert.equal(new Set(ids).size, n);
    const consumed = stopped.map((l) => l.consumed);
    assert.ok(consumed.every((c) => c > 0), `both workers took events: ${consumed}`);
    assert.equal(consumed[0] + consumed[1], 2000);
  });

  await t.step("SIGTERM with events in flight: the batch finishes, exit 0, none lost", async () => {
    await using broker = await TestBroker.open();
    const { events, predictionExchange, predictions } = await exchangesFor(broker, ["ride-duration-linreg"]);
    const args = ["--model", "ride-duration-linreg", "--exchange", events, "--prediction-exchange", predictionExchange];
    const n = 20_000;
    // The model's queue holds every event before the consumer starts, so it is mid-stream at SIGTERM.
    const queue = await backlog(broker, events, n);
    // Slowed (each model run waits 100 ms for company), so a batch is waiting at almost any moment. The gauge can
    // read 0 in the instant between a batch's acks and the next deliveries: a stop then proves nothing, so a
    // consumer is started again (on what is left) until one is stopped with events in flight.
    let published = 0, inFlightAtStop = 0;
    for (let attempt = 0; attempt < 5 && inFlightAtStop === 0; attempt++) {
      const c = new Consumer([
        ...args,
        ...["--prefetch", "64", "--max-batch-delay-ms", "100", "--metrics-port", "0"],
      ]);
      let code: number;
      try {
        const url = (await c.waitForLog("metrics listening")).url as string;
        await predictions.waitFor(published + 500);
        // SIGTERM once the consumer itself says it holds events, not after a guessed time.
        await waitUntil(async () => {
          const text = await (await fetch(url)).text();
          return Number(text.match(/^score_consumer_events_in_flight\{[^}]*\} (\S+)$/m)?.[1]) > 0;
        }, "events in flight");
      } finally {
        code = await c.stop("SIGTERM");
      }
      assert.equal(code, 0);
      inFlightAtStop = (await c.waitForLog("stopping: finishing the events in flight")).in_flight;
      published += (await c.waitForLog("consumer stopped")).published;
      await c.waitForLog("drained");
    }
    assert.ok(inFlightAtStop > 0, "events were in flight at SIGTERM");
    // Every event is either predicted or back in the queue, never both, never neither. What it published
    // is still on its way to the reader, and what it left unacked on its way back to the queue: wait for both.
    await predictions.waitFor(published);
    await waitUntil(
      async () => predictions.messages.length + await broker.count(queue) >= n,
      `${n} events predicted or back in the queue`,
    );
    const predicted = new Set(predictions.json().map((p) => p.prediction.ride_id));
    assert.equal(predictions.messages.length, published);
    assert.equal(predicted.size, published);
    assert.ok(predicted.size < n, "the consumer stopped before the end");
    assert.equal(predicted.size + await broker.count(queue), n);
    const second = new Consumer(args);
    try {
      await predictions.waitFor(n, 60_000);
    } finally {
      assert.equal(await second.stop(), 0);
    }
    assert.equal(new Set(predictions.json().map((p) => p.prediction.ride_id)).size, n);
  });

  await t.step("--workers 2: a backlog split between them, every prediction once, /metrics sums them", async () => {
    await using broker = await TestBroker.open();
    const { events, predictionExchange, predictions } = await exchangesFor(broker, ["ride-duration-linreg"]);
    const n = 3000;
    const queue = await backlog(broker, events, n);
    const c = new Consumer(
      cliArgs({
        ...consumeFlags("ride-duration-linreg", events, predictionExchange),
        "--workers": 2,
        "--prefetch": 50,
        "--metrics-port": 0,
      }),
    );
    let text = "";
    const value = (name: string) => Number(text.match(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, "m"))?.[1]);
    try {
      const url = (await c.waitForLog("metrics listening")).url as string;
      await predictions.waitFor(n);
      // A prediction can reach its reader before its confirm reaches the worker: poll the counters.
      await waitUntil(async () => {
        text = await (await fetch(url)).text();
        return value("score_consumer_predictions_published_total") === n;
      }, `${n} predictions counted on /metrics`);
      assert.equal(value("score_consumer_events_consumed_total"), n);
      assert.equal(value("score_consumer_event_latency_seconds_count"), n);
      assert.equal(value("score_consumer_connected"), 2, "both workers' connections, summed");
      const health = await (await fetch(url.replace("/metrics", "/health"))).json();
      assert.deepEqual(health, { status: "ok", model: "ride-duration-linreg", connected: true });
    } finally {
      assert.equal(await c.stop(), 0);
    }
    const stopped = c.logs.filter((l) => l.msg === "consumer stopped");
    assert.deepEqual(stopped.map((l) => l.worker).sort(), [0, 1]);
    assert.ok(stopped.every((l) => l.consumed > 0), `both workers took events: ${stopped.map((l) => l.consumed)}`);
    assert.equal(stopped[0].published + stopped[1].published, n);
    await predictions.waitFor(n);
    const ids = predictions.json().map((p) => p.prediction.ride_id);
    assert.equal(ids.length, n);
    assert.equal(new Set(ids).size, n);
    assert.equal(await broker.count(queue), 0);
  });

  await t.step("--workers 2, SIGTERM with events in flight: each worker finishes its own, none lost", async () => {
    await using broker = await TestBroker.open();
    const { events, predictionExchange, predictions } = await exchangesFor(broker, ["ride-duration-linreg"]);
    const n = 20_000;
    const queue = await backlog(broker, events, n);
    // Slowed (each model run waits 100 ms for company), so both workers hold events at almost any moment.
    const c = new Consumer(
      cliArgs({
        ...consumeFlags("ride-duration-linreg", events, predictionExchange),
        "--workers": 2,
        "--prefetch": 64,
        "--max-batch-delay-ms": 100,
        "--metrics-port": 0,
      }),
    );
    try {
      const url = (await c.waitForLog("metrics listening")).url as string;
      await predictions.waitFor(500);
      await waitUntil(async () => {
        const text = await (await fetch(url)).text();
        return Number(text.match(/^score_consumer_events_in_flight\{[^}]*\} (\S+)$/m)?.[1]) > 0;
      }, "events in flight");
    } finally {
      assert.equal(await c.stop("SIGTERM"), 0);
    }
    const stopping = c.logs.filter((l) => l.msg === "stopping: finishing the events in flight");
    assert.equal(stopping.length, 2, "both workers drained");
    assert.ok(stopping.some((l) => l.in_flight > 0), "events were in flight at SIGTERM");
    assert.equal(c.logs.filter((l) => l.msg === "drained").length, 2);
    const published = c.logs.filter((l) => l.msg === "consumer stopped").reduce((sum, l) => sum + l.published, 0);
    // Every event is either predicted or back in the queue, never both, never neither.
    await predictions.waitFor(published);
    await waitUntil(
      async () => predictions.messages.length + await broker.count(queue) >= n,
      `${n} events predicted or back in the queue`,
    );
    const predicted = new Set(predictions.json().map((p) => p.prediction.ride_id));
    assert.equal(predictions.messages.length, published);
    assert.equal(predicted.size, published);
    assert.ok(published < n, "the workers stopped before the end");
    assert.equal(predicted.size + await broker.count(queue), n);
  });

  await t.step(
    "its connection force-closed by an admin mid-run: it reconnects, every event gets a prediction",
    async () => {
      await using broker = await TestBroker.open();
      const { events, predictionExchange, predictions } = await exchangesFor(broker, ["ride-duration-linreg"]);
      const n = 10_000;
      const queue = await backlog(broker, events, n);
      // Its own connection name: closing it leaves every other run's consumers on the shared broker alone.
      const name = randomName("score consume test");
      // Slowed to about a thousand events/s (64 a model run, each waiting 50 ms for company), so the close
      // lands mid-run even when rabbitmqctl takes seconds on a loaded machine.
      const c = new Consumer([
        ...["--model", "ride-duration-linreg", "--exchange", events, "--prediction-exchange", predictionExchange],
        ...["--prefetch", "64", "--max-batch-delay-ms", "50", "--connection-name", name],
      ]);
      try {
        await predictions.waitFor(1000);
        assert.equal(await closeConnectionsNamed(name), 1);
        await c.waitForLog("connection to the broker lost; reconnecting");
        assert.ok(await broker.count(queue) > 0, "events were left at the close");
        // Duplicates are allowed (an ack lost with the connection): wait for every id, not for n messages.
        await waitUntil(
          () => new Set(predictions.json().map((p) => p.prediction.ride_id)).size >= n,
          `a prediction for each of the ${n} events`,
          60_000,
        );
      } finally {
        assert.equal(await c.stop(), 0);
      }
      const lost = c.logs.find((l) => l.msg === "connection to the broker lost; reconnecting");
      assert.match(lost?.error, /CONNECTION_FORCED|closed/i);
      assert.equal(c.logs.filter((l) => l.msg === "consuming").length, 2);
      assert.equal((await c.waitForLog("consumer stopped")).reconnects, 1);
      assert.equal((await c.waitForLog("consumer starting")).connection_name, name);
    },
  );

  await t.step("--dry-run prints the predictions and publishes nothing", async () => {
    await using broker = await TestBroker.open();
    const events = await broker.exchange("rides");
    defaults(broker, "ride-duration-linreg", events);
    const modelQueue = await broker.queue(events); // stands in for the model's real workers
    const dry = new Consumer([
      ...cliArgs({
        "--model": "ride-duration-linreg",
        "--exchange": events,
        "--dry-run": true,
        "--rename": "duration=ride_duration",
      }),
    ]);
    try {
      await dry.waitForLog("consuming");
      await broker.publish(events, [COURSE_EVENT, "not json"]);
      await dry.waitForLog("poison event (dry run: not dead-lettered)");
      await waitUntil(() => dry.stdout.includes("\n"), "a prediction on stdout");
    } finally {
      assert.equal(await dry.stop(), 0);
    }
    assert.deepEqual(dry.stdout.trim().split("\n").map((l) => JSON.parse(l)), [
      {
        model: "ride-duration-linreg",
        version: dry.logs.find((l) => l.msg === "consumer starting")?.version,
        prediction: { ride_duration: 12.78553032985699, ride_id: 256 },
      },
    ]);
    const stopped = await dry.waitForLog("consumer stopped");
    assert.deepEqual([stopped.published, stopped.dead_lettered], [0, 0]);
    assert.equal(await broker.count(modelQueue), 2, "the real queue keeps its events");
  });

  await t.step("--dry-run | head: a standard output closed by its reader stops the consumer, exit 0", async () => {
    await using broker = await TestBroker.open();
    const events = await broker.exchange("rides");
    defaults(broker, "ride-duration-linreg", events);
    const dry = new Consumer(["--model", "ride-duration-linreg", "--exchange", events, "--dry-run"], {}, 1);
    try {
      await dry.waitForLog("consuming");
      await broker.publish(events, [COURSE_EVENT]);
      await waitUntil(() => dry.stdout.includes("\n"), "the first prediction");
      // The next prediction written finds the pipe closed (the ones before it may sit in the pipe's buffer).
      let exited = false;
      const code = dry.exited().finally(() => exited = true);
      await waitUntil(async () => {
        if (!exited) await broker.publish(events, [COURSE_EVENT]);
        return exited;
      }, "the consumer to stop");
      assert.equal(await code, 0, JSON.stringify(dry.logs.filter((l) => l.level === "error")));
    } finally {
      await dry.stop();
    }
    assert.ok(dry.logs.some((l) => l.msg === "standard output closed by its reader: stopping"));
    assert.ok(dry.logs.some((l) => l.msg === "consumer stopped"));
  });

  await t.step(
    'a model named "model" after its folder (MLflow\'s artifacts/model): a warning names the risk',
    async () => {
      await using broker = await TestBroker.open();
      await using dir = await tempDir();
      const events = await broker.exchange("rides");
      const predictionExchange = await broker.exchange("predictions");
      const folder = join(dir.path, "artifacts", "model");
      await Deno.mkdir(folder, { recursive: true });
      await Deno.copyFile(join(MODELS, "ride-duration-linreg", "model.onnx"), join(folder, "model.onnx"));
      broker.track({ queues: [`model.${events}`, `model.${events}.dead-letter`, `${predictionExchange}.model`] });
      broker.track({ exchanges: [`${events}.dead-letter`] });
      const c = new Consumer(["--model", folder, "--exchange", events, "--prediction-exchange", predictionExchange]);
      try {
        await c.waitForLog("consuming");
      } finally {
        assert.equal(await c.stop(), 0);
      }
      const warned = c.logs.find((l) => l.level === "warn" && /is named "model" after its folder/.test(l.msg));
      assert.ok(warned, JSON.stringify(c.logs));
      assert.match(warned.msg, new RegExp(`share its queue \\(model\\.${events}\\)`));
    },
  );

  await t.step("--dry-run without --workers or SCORE_WORKERS: auto is one consumer, and says why", async () => {
    await using broker = await TestBroker.open();
    const events = await broker.exchange("rides");
    // The suite's consumers get SCORE_WORKERS=1 (tests/helpers.ts): unset here, as an operator who sets nothing runs it.
    const dry = new Consumer(["--model", "ride-duration-linreg", "--exchange", events, "--dry-run"], {
      SCORE_WORKERS: undefined,
    });
    try {
      await dry.waitForLog("consuming");
    } finally {
      assert.equal(await dry.stop(), 0);
    }
    const { workers, from, why } = dry.logs.find((l) => l.msg === "workers")!;
    assert.deepEqual({ workers, from, why }, {
      workers: 1,
      from: "default",
      why: "--dry-run watches with one consumer",
    });
    assert.equal(dry.logs.filter((l) => l.msg === "consumer starting").length, 1);
  });

  await t.step("--dry-run prints an id beyond 2^53 with its exact digits", async () => {
    await using broker = await TestBroker.open();
    const events = await broker.exchange("rides");
    defaults(broker, "ride-duration-linreg", events);
    const dry = new Consumer(["--model", "ride-duration-linreg", "--exchange", events, "--dry-run"]);
    try {
      await dry.waitForLog("consuming");
      await broker.publish(events, [`{"ride": ${JSON.stringify(COURSE_EVENT.ride)}, "ride_id": 9007199254740993}`]);
      await waitUntil(() => dry.stdout.includes("\n"), "a prediction on stdout");
    } finally {
      assert.equal(await dry.stop(), 0);
    }
    assert.match(dry.stdout, /"prediction":\{"duration":[0-9.]+,"ride_id":9007199254740993\}\}\n$/);
  });

  await t.step(
    "nothing bound to the prediction exchange yet: the predictions wait in <exchange>.<model>, none dead-lettered",
    async () => {
      await using broker = await TestBroker.open();
      const { events, predictionExchange, flags } = await unboundExchanges(broker);
      const kept = `${predictionExchange}.ride-duration-linreg`;
      broker.track({ queues: [kept] });
      const c = new Consumer(cliArgs(flags));
      try {
        assert.equal((await c.waitForLog("consumer starting")).prediction_queue, kept);
        await c.waitForLog("consuming");
        await broker.publish(events, rides(3));
        await waitUntil(async () => await broker.count(kept) === 3, `3 predictions in ${kept}`);
      } finally {
        assert.equal(await c.stop(), 0);
      }
      const stopped = await c.waitForLog("consumer stopped");
      assert.deepEqual([stopped.published, stopped.dead_lettered, stopped.predictions_unroutable], [3, 0, 0]);
      const ids = (await broker.collect(kept).then((q) => q.waitFor(3))).map((m) => JSON.parse(m.content.toString()));
      assert.deepEqual(ids.map((p) => p.prediction.ride_id).sort(), [0, 1, 2]);
    },
  );

  await t.step(
    "--no-prediction-queue and nothing bound: a warning at start, events dead-lettered as unroutable, counted",
    async () => {
      await using broker = await TestBroker.open();
      const { events, predictionExchange, flags } = await unboundExchanges(broker);
      const c = new Consumer(cliArgs({ ...flags, "--no-prediction-queue": true }));
      let dead: Awaited<ReturnType<typeof broker.collect>>;
      try {
        const warning = await c.waitForLog(
          `no prediction queue: bind a queue to ${predictionExchange} for routing key ride-duration-linreg ` +
            "before events arrive, or their events are dead-lettered as unroutable",
        );
        assert.equal(warning.level, "warn");
        await c.waitForLog("consuming");
        dead = await broker.collect("ride-duration-linreg." + events + ".dead-letter");
        await broker.publish(events, rides(2));
        await dead.waitFor(2);
        const logged = await c.waitForLog("event dead-lettered");
        assert.equal(logged.code, "unroutable");
        assert.equal(logged.reason, `unroutable: no queue bound to ${predictionExchange} for ride-duration-linreg`);
      } finally {
        assert.equal(await c.stop(), 0);
      }
      const stopped = await c.waitForLog("consumer stopped");
      assert.deepEqual(
        [stopped.published, stopped.dead_lettered, stopped.predictions_unroutable, stopped.consumed],
        [0, 2, 2, 2],
      );
    },
  );

  await t.step("--metrics-port serves /metrics and /health", async () => {
    await using broker = await TestBroker.open();
    const { events, predictionExchange, predictions } = await exchangesFor(broker, ["ride-duration-linreg"]);
    const c = new Consumer([
      ...cliArgs({
        ...consumeFlags("ride-duration-linreg", events, predictionExchange),
        "--metrics-port": 0,
      }),
    ]);
    try {
      const url = (await c.waitForLog("metrics listening")).url as string;
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/, "the loopback address by default, as score serve");
      await c.waitForLog("consuming");
      await broker.publish(events, [...rides(3), "oops"]);
      await predictions.waitFor(3);
      await c.waitForLog("event dead-lettered");
      const health = await fetch(url.replace("/metrics", "/health"));
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: "ok", model: "ride-duration-linreg", connected: true });
      // A prediction can reach its reader before its confirm reaches the consumer: poll the counters.
      let text = "";
      const value = (name: string) => Number(text.match(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, "m"))?.[1]);
      const deadline = Date.now() + 10_000;
      do {
        text = await (await fetch(url)).text();
      } while (value("score_consumer_event_latency_seconds_count") < 4 && Date.now() < deadline);
      assert.equal(value("score_consumer_events_consumed_total"), 4);
      assert.equal(value("score_consumer_predictions_published_total"), 3);
      assert.equal(value("score_consumer_events_dead_lettered_total"), 1);
      assert.equal(value("score_consumer_events_redelivered_total"), 0);
      assert.ok(value("score_consumer_batch_size_count") >= 1);
      assert.equal(value("score_consumer_event_latency_seconds_count"), 4);
    } finally {
      assert.equal(await c.stop(), 0);
    }
  });
});

Deno.test("score consume reloads its model on SIGHUP while events flow: none lost or dead-lettered", async () => {
  await using broker = await TestBroker.open();
  await using dir = await tempDir();
  const { events, predictionExchange, predictions } = await exchangesFor(broker, ["ride-duration"]);
  const RUN_A = "a".repeat(32), RUN_B = "b".repeat(32);
  // An MLflow model directory, replaced in place the way a deployment step would.
  const put = async (runId: string, model: string) => {
    await Deno.copyFile(join(MODELS, model, "model.onnx"), join(dir.path, "model.onnx"));
    await Deno.writeTextFile(
      join(dir.path, "MLmodel"),
      `flavors:\n  onnx:\n    data: model.onnx\nrun_id: ${runId}\n`,
    );
  };
  await put(RUN_A, "ride-duration-linreg");
  const consumer = new Consumer([
    ...cliArgs({
      "--model": `file://${dir.path}#name=ride-duration`,
      "--exchange": events,
      "--prediction-exchange": predictionExchange,
      "--cache-dir": join(dir.path, "cache"),
    }),
  ]);
  try {
    await consumer.waitForLog("consuming");
    await broker.publish(events, rides(2000, 1000));
    await predictions.waitFor(50);
    await put(RUN_B, "ride-duration-rf");
    consumer.kill("SIGHUP");
    const reloaded = await consumer.waitForLog("model reloaded");
    assert.deepEqual([reloaded.from_version, reloaded.version], [RUN_A, RUN_B]);
    await predictions.waitFor(2000);
    await broker.publish(events, [COURSE_EVENT]);
    await predictions.waitFor(2001);
    const all = predictions.json();
    assert.deepEqual(
      new Set(all.map((p) => p.prediction.ride_id)),
      new Set([256, ...rides(2000, 1000).map((r) => r.ride_id)]),
    );
    assert.ok(all.every((p) => p.version === RUN_A || p.version === RUN_B));
    assert.ok(all.slice(0, 50).every((p) => p.version === RUN_A));
    const ride256 = all.find((p) => p.prediction.ride_id === 256)!;
    assert.equal(ride256.version, RUN_B);
    assert.ok(Math.abs(ride256.prediction.duration - 21.29) < 0.005);
    assert.equal(await broker.count(`ride-duration.${events}.dead-letter`), 0);
  } finally {
    assert.equal(await consumer.stop(), 0);
  }
});

Deno.test("score consume (real RabbitMQ): a ZipMap classifier people bring, [N,K] features in both forms", async () => {
  const path = join(FIXTURES, "models", "byom", "zipmap_strings");
  const model = await loadModel(path);
  const rows = [[1, 2, 3], [3, -1, 0.5], [-2, 4, 1], [0.25, 0.5, -0.75]].map((v) => vectorRow("float_input", v));
  const direct = await directRun(model, rows);
  await model.close();
  await using broker = await TestBroker.open();
  const { events, predictionExchange, predictions } = await exchangesFor(broker, ["zipmap_strings"], "flowers");
  const consumer = new Consumer([
    ...cliArgs({
      "--model": path,
      "--exchange": events,
      "--prediction-exchange": predictionExchange,
      "--features-path": "features",
      "--id-path": "id",
    }),
  ]);
  try {
    await consumer.waitForLog("consuming");
    // Even ids give the K columns, odd ids the same values as one list.
    const sent = rows.flatMap((row, r) => [
      { id: 2 * r, features: row },
      { id: 2 * r + 1, features: packedRow(model, row) },
    ]);
    await broker.publish(events, sent);
    await predictions.waitFor(sent.length);
    const byId = new Map(predictions.json().map((p) => [p.prediction.id, p]));
    for (const { id } of sent) {
      const p = byId.get(id)!;
      assert.equal(p.model, "zipmap_strings");
      assert.deepEqual(p.prediction, { ...expectedJson(model, direct, Math.floor(id / 2)), id });
      const probabilities = (p.prediction as unknown as Record<string, object>).output_probability;
      assert.deepEqual(Object.keys(probabilities), ["setosa", "versicolor", "virginica"]);
    }
  } finally {
    assert.equal(await consumer.stop(), 0);
  }
});

Deno.test("score consume --monitor: the drift of the events over a sliding window in /metrics", async () => {
  await using broker = await TestBroker.open();
  await using dir = await tempDir();
  const { events, predictionExchange, predictions } = await exchangesFor(broker, ["ride-duration-linreg"]);
  // The reference: the rides these tests publish, as score profile would write it.
  const model = await loadModel(join(MODELS, "ride-duration-linreg"));
  const reference = new DatasetProfile({ name: model.name, version: model.version }, [
    { name: "PULocationID", role: "input", kind: "categorical" },
    { name: "DOLocationID", role: "input", kind: "categorical" },
    { name: "trip_distance", role: "input", kind: "numeric" },
    { name: "duration", role: "output", kind: "numeric" },
  ]);
  const columns = rowsToColumns(rides(300).map((e) => e.ride));
  reference.fold(columns, 300, (await model.predict(columns, 300)).columns);
  await model.close();
  const profile = join(dir.path, "reference.json");
  await Deno.writeTextFile(profile, JSON.stringify(reference));
  const c = new Consumer([
    ...cliArgs({
      ...consumeFlags("ride-duration-linreg", events, predictionExchange),
      "--metrics-port": 0,
      "--monitor": profile,
      "--monitor-period": 1,
    }),
  ]);
  try {
    const url = (await c.waitForLog("metrics listening")).url as string;
    await c.waitForLog("consuming");
    // Rides ten times as long as the reference's.
    await broker.publish(
      events,
      rides(30).map((e) => ({ ...e, ride: { ...e.ride, trip_distance: 10 * e.ride.trip_distance } })),
    );
    await predictions.waitFor(30);
    let text = "";
    const value = (name: string) => Number(text.match(new RegExp(`^${name} (\\S+)$`, "m"))?.[1]);
    const label = (column: string) => `\\{model="ride-duration-linreg",column="${column}"\\}`;
    await waitUntil(
      async () => {
        text = await (await fetch(url)).text();
        return value('score_drift_window_rows\\{model="ride-duration-linreg"\\}') === 30;
      },
      "the 30 events in the drift window",
      20_000,
    );
    assert.equal(value(`score_drift_detected${label("trip_distance")}`), 1);
    assert.equal(value(`score_drift_detected${label("PULocationID")}`), 0);
    assert.ok(value(`score_drift_score${label("trip_distance")}`) < 0.05, "a small reference: the KS p-value decides");
  } finally {
    assert.equal(await c.stop(), 0);
  }
});

Deno.test("score consume at a terminal: Ctrl-C says a second one exits at once, then it stops, exit 0", async () => {
  await using broker = await TestBroker.open();
  const events = await broker.exchange("rides");
  defaults(broker, "ride-duration-linreg", events);
  await using t = atTerminal(
    ["consume", ...cliArgs({ "--model": "ride-duration-linreg", "--exchange": events, "--dry-run": true })],
    { AMQP_URL },
  );
  await t.waitFor("consuming");
  await t.type("\x03");
  assert.equal(await t.status, 0, t.output());
  assert.match(t.output(), /WARN +SIGINT: stopping after the events in flight \(Ctrl-C again exits at once\)/);
  assert.match(t.output(), /INFO +consumer stopped /);
});
