/**
 * `deno task bench:consume`: how close `score consume` comes to what the
 * broker itself can do on this machine, in one run.
 *
 * For 100k ride events in the course's shape (`BENCH_EVENTS` to change), already waiting
 * in a durable queue, it measures:
 * - the broker ceiling: a bare amqplib consumer (its own process, prefetch
 *   1024, as score consume by default) that, per event, publishes a persistent prediction-sized message
 *   with confirms and acks the event once confirmed; no JSON, no model;
 * - `./score consume` with the linreg model, same guarantees, end to end:
 *   from its "consuming" log line to the last prediction read back, for
 *   each `--prefetch`/`--max-batch-size` setting of `BENCH_CONSUME_SETTINGS`
 *   (default "1024/512", the defaults), and then, on the idle queue, the latency of single
 *   events (one published at a time, until its prediction is read back);
 * - with `BENCH_BASELINE="<command>"`, a one-event-at-a-time consumer of
 *   the course's kind, run as `<command> <queue> <predictions exchange>`
 *   (e.g. a pika consumer), the same way as the ceiling;
 * then prints them in events/s and the ratios (target >= 60% of the
 * ceiling).
 *
 * Both runs end at a reader draining the predictions queue. Everything
 * declared is deleted at the end. A benchmark, not a test: it asserts nothing.
 */
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Channel, type ChannelModel, connect } from "amqplib";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const URL_ = Deno.env.get("AMQP_URL") ?? "amqp://guest:guest@127.0.0.1:5672";
const N = Number(Deno.env.get("BENCH_EVENTS") ?? 100_000);
const PREFETCH = 1024;
const MODEL = "ride-duration-linreg";
const tag = crypto.randomUUID().slice(0, 8);

if (Deno.args[0] === "--bare") {
  // The ceiling's consumer runs in its own process, as `score consume` does.
  const conn = await bareConsumer(Deno.args[1], Deno.args[2]);
  console.error(JSON.stringify({ msg: "consuming" }));
  await new Promise<void>((resolve) => Deno.addSignalListener("SIGTERM", resolve));
  await conn.close().catch(() => {});
  Deno.exit(0);
}

const admin = await connect(URL_);
const ch = await admin.createConfirmChannel();
const queues: string[] = [];
const exchanges: string[] = [];

try {
  console.log(`${N} ride events in the course's shape per run, prefetch ${PREFETCH}\n`);

  // --- broker ceiling
  const c = await topology("ceiling", `bench_ceiling_${tag}`);
  const publishRate = await fill(c.events, c.queue);
  console.log(`publish ${N} persistent events with confirms: ${fmt(publishRate)} events/s`);
  const reader = await startReader(c.predictionsQueue);
  const bare = new Deno.Command(join(ROOT, "scripts", "deno"), {
    args: ["run", "--allow-all", "--quiet", fileURLToPath(import.meta.url), "--bare", c.queue, c.predictions],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const ceilingStart = await watchLogs(bare.stderr).when("consuming");
  await reader.until(N);
  const ceiling = N / ((performance.now() - ceilingStart) / 1000);
  const ceilingLatency = await singleEvents(c.events, reader);
  bare.kill("SIGTERM");
  await bare.status;
  await reader.close();
  console.log(`broker ceiling (consume, publish persistent + confirm, ack): ${fmt(ceiling)} events/s`);

  // --- a consumer of the course's kind, when one is given
  let baseline: number | undefined;
  const baselineCommand = Deno.env.get("BENCH_BASELINE")?.split(" ").filter((w) => w !== "");
  if (baselineCommand) {
    const b = await topology("baseline", `bench_baseline_${tag}`);
    await fill(b.events, b.queue);
    const baselineReader = await startReader(b.predictionsQueue);
    const child = new Deno.Command(baselineCommand[0], {
      args: [...baselineCommand.slice(1), b.queue, b.predictions],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const start = await watchLogs(child.stderr).when("consuming");
    await baselineReader.until(N);
    baseline = N / ((performance.now() - start) / 1000);
    child.kill("SIGTERM");
    await child.status;
    await baselineReader.close();
    console.log(`baseline (${baselineCommand.join(" ")}): ${fmt(baseline)} events/s`);
  }

  // --- score consume, per setting
  const settings = (Deno.env.get("BENCH_CONSUME_SETTINGS") ?? `${PREFETCH}/512`).split(",").map((x) =>
    x.split("/").map(Number) as [number, number]
  );
  const rows: string[] = [];
  for (const [prefetch, maxBatch] of settings) {
    const r = await scoreConsume(prefetch, maxBatch);
    const vsBaseline = baseline ? ` | ${(r.scored / baseline).toFixed(1)}x` : "";
    rows.push(
      `| score consume, --prefetch ${prefetch} --max-batch-size ${maxBatch} | ${fmt(r.scored)} | ${
        pct(r.scored / ceiling)
      }${vsBaseline} | ${r.latency.p50.toFixed(1)} ms | ${r.latency.max.toFixed(1)} ms |`,
    );
  }

  console.log(`\n| run | events/s | vs ceiling${baseline ? " | vs baseline" : ""} | single event, p50 | max |`);
  console.log(`| --- | ---: | ---: |${baseline ? " ---: |" : ""} ---: | ---: |`);
  console.log(
    `| broker ceiling: consume + publish persistent with confirms + ack, no model | ${fmt(ceiling)} | 100% |${
      baseline ? " |" : ""
    } ${ceilingLatency.p50.toFixed(1)} ms | ${ceilingLatency.max.toFixed(1)} ms |`,
  );
  if (baseline) {
    console.log(
      `| baseline: ${baselineCommand!.join(" ")} | ${fmt(baseline)} | ${pct(baseline / ceiling)} | 1.0x | | |`,
    );
  }
  for (const r of rows) console.log(r);
} finally {
  const cleanup = await admin.createChannel();
  for (const q of queues) await cleanup.deleteQueue(q);
  for (const e of exchanges) await cleanup.deleteExchange(e);
  await admin.close();
}

/** `score consume` with one setting: events/s over the backlog of N, then single events on the idle queue. */
async function scoreConsume(prefetch: number, maxBatch: number) {
  const label = `score_${prefetch}_${maxBatch}`;
  // score consume names its queue <model>.<events exchange>.
  const s = await topology(label, `${MODEL}.bench_${label}_events_${tag}`);
  exchanges.push(`${s.events}.dead-letter`);
  queues.push(`${s.queue}.dead-letter`);
  await fill(s.events, s.queue);
  const scoreReader = await startReader(s.predictionsQueue);
  const spawnedAt = performance.now();
  const child = new Deno.Command(join(ROOT, "score"), {
    args: [
      "consume",
      "--model",
      MODEL,
      "--amqp-url",
      URL_,
      "--exchange",
      s.events,
      "--prediction-exchange",
      s.predictions,
      // The reader's own queue takes the predictions.
      "--no-prediction-queue",
      "--prefetch",
      String(prefetch),
      "--max-batch-size",
      String(maxBatch),
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const logs = watchLogs(child.stderr);
  const consumingAt = await logs.when("consuming");
  await scoreReader.until(N);
  const end = performance.now();
  const scored = N / ((end - consumingAt) / 1000);
  const wall = N / ((end - spawnedAt) / 1000);
  const latency = await singleEvents(s.events, scoreReader);
  child.kill("SIGTERM");
  const status = await child.status;
  await scoreReader.close();
  console.log(
    `score consume --prefetch ${prefetch} --max-batch-size ${maxBatch}: ${fmt(scored)} events/s from "consuming"; ` +
      `${fmt(wall)} incl. start-up; single event p50 ${latency.p50.toFixed(1)} ms, max ${latency.max.toFixed(1)} ms; ` +
      `exit ${status.code}`,
  );
  return { scored, wall, latency };
}

/** Single events on an idle queue: publish one, wait for its prediction, 20 times; p50 and max in ms. */
async function singleEvents(exchange: string, reader: Awaited<ReturnType<typeof startReader>>) {
  const latencies: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    const ride = { PULocationID: 130, DOLocationID: 205, trip_distance: 3.66 };
    ch.publish(exchange, "ride", Buffer.from(JSON.stringify({ ride, ride_id: i })), {
      persistent: true,
      contentType: "application/json",
    });
    await reader.until(reader.count() + 1);
    latencies.push(performance.now() - t);
  }
  latencies.sort((a, b) => a - b);
  return { p50: latencies[10], max: latencies[19] };
}

/** An events exchange with the consumer's queue bound, and a predictions exchange with a reader's queue. */
async function topology(label: string, queue: string) {
  const events = `bench_${label}_events_${tag}`;
  const predictions = `bench_${label}_predictions_${tag}`;
  const predictionsQueue = `bench_${label}_predictions_q_${tag}`;
  exchanges.push(events, predictions);
  queues.push(queue, predictionsQueue);
  await ch.assertExchange(events, "topic", { durable: true });
  await ch.assertExchange(predictions, "topic", { durable: true });
  await ch.assertQueue(queue, { durable: true });
  await ch.bindQueue(queue, events, "#");
  await ch.assertQueue(predictionsQueue, { durable: true });
  await ch.bindQueue(predictionsQueue, predictions, "#");
  return { events, predictions, queue, predictionsQueue };
}

/** Publishes N ride events in the course's shape (persistent, confirms, 1000 in flight) into `queue`; returns events/s. */
async function fill(exchange: string, queue: string): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < N; i += 1000) {
    for (let j = i; j < Math.min(N, i + 1000); j++) {
      const body = {
        ride: { PULocationID: 1 + (j % 265), DOLocationID: 1 + ((j * 7) % 265), trip_distance: 0.5 + (j % 300) / 10 },
        ride_id: j,
      };
      ch.publish(exchange, "ride", Buffer.from(JSON.stringify(body)), {
        persistent: true,
        contentType: "application/json",
        messageId: String(j),
      });
    }
    await ch.waitForConfirms();
  }
  const rate = N / ((performance.now() - t) / 1000);
  const { messageCount } = await ch.checkQueue(queue);
  if (messageCount !== N) throw new Error(`${queue} holds ${messageCount} events, expected ${N}`);
  return rate;
}

/** The broker's part of `score consume` alone: per event, a confirmed persistent publish, then the ack. */
async function bareConsumer(queue: string, predictions: string): Promise<ChannelModel> {
  const conn = await connect(URL_);
  const c = await conn.createConfirmChannel();
  await c.prefetch(PREFETCH);
  const body = Buffer.from(
    JSON.stringify({
      model: MODEL,
      version: "0123456789ab",
      prediction: { ride_duration: 12.78553032985699, ride_id: 256 },
    }),
  );
  await c.consume(queue, (m) => {
    if (m === null) return;
    c.publish(predictions, MODEL, body, {
      persistent: true,
      contentType: "application/json",
      correlationId: m.properties.messageId,
    }, (err) => {
      try {
        if (err) c.nack(m, false, true);
        else c.ack(m);
      } catch { /* the channel closed: the broker requeues it */ }
    });
  });
  return conn;
}

/** Drains a queue, counting messages. */
async function startReader(queue: string) {
  const conn = await connect(URL_);
  const c: Channel = await conn.createChannel();
  await c.prefetch(1000);
  let count = 0;
  let wake: (() => void) | undefined;
  await c.consume(queue, (m) => {
    if (m === null) return;
    count++;
    if (count % 100 === 0) c.ack(m, true);
    wake?.();
  });
  return {
    count: () => count,
    until: async (n: number) => {
      const deadline = Date.now() + 600_000;
      while (count < n) {
        if (Date.now() > deadline) throw new Error(`only ${count} of ${n} predictions arrived`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100);
        });
      }
    },
    close: async () => {
      await c.ackAll();
      await conn.close();
    },
  };
}

function watchLogs(stream: ReadableStream<Uint8Array>) {
  const lines: Record<string, any>[] = [];
  const done = (async () => {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const p of parts) if (p.startsWith("{")) lines.push({ ...JSON.parse(p), at: performance.now() });
    }
    return lines;
  })();
  return {
    done,
    when: async (msg: string) => {
      for (;;) {
        const l = lines.find((x) => x.msg === msg);
        if (l) return l.at as number;
        if (lines.some((x) => x.level === "error")) throw new Error(JSON.stringify(lines));
        await new Promise((r) => setTimeout(r, 5));
      }
    },
  };
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}
