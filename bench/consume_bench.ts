/**
 * `deno task bench:consume`: how close `score consume` comes to what the
 * broker itself can do on this machine, in one run.
 *
 * For 100k ride events in the course's shape (`BENCH_EVENTS` to change), already waiting
 * in a durable queue, it measures:
 * - the broker ceiling: a bare amqplib consumer (its own process, prefetch
 *   256) that, per event, publishes a persistent prediction-sized message
 *   with confirms and acks the event once confirmed; no JSON, no model;
 * - `./score consume` with the linreg model, same guarantees, end to end:
 *   from its "consuming" log line to the last prediction read back;
 * then prints both in events/s and the ratio (target >= 60%).
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
const PREFETCH = 256;
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
  bare.kill("SIGTERM");
  await bare.status;
  await reader.close();
  console.log(`broker ceiling (consume, publish persistent + confirm, ack): ${fmt(ceiling)} events/s`);

  // --- score consume
  const s = await topology("score", `${MODEL}.bench_score_events_${tag}`);
  exchanges.push(`bench_score_events_${tag}.dead-letter`);
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
      "--prefetch",
      String(PREFETCH),
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const logs = watchLogs(child.stderr);
  const consumingAt = await logs.when("consuming");
  await scoreReader.until(N);
  const end = performance.now();
  child.kill("SIGTERM");
  const status = await child.status;
  await scoreReader.close();
  const scored = N / ((end - consumingAt) / 1000);
  const wall = N / ((end - spawnedAt) / 1000);
  const batch = (await logs.done).find((l) => l.msg === "consumer stopped");
  console.log(
    `score consume (${MODEL}): ${fmt(scored)} events/s from "consuming"; ${fmt(wall)} events/s incl. start-up ` +
      `(${((consumingAt - spawnedAt) / 1000).toFixed(2)} s); exit ${status.code}; published ${batch?.published}`,
  );

  console.log("\n| run | events/s | vs ceiling |");
  console.log("| --- | ---: | ---: |");
  console.log(
    `| broker ceiling: consume + publish persistent with confirms + ack, no model | ${fmt(ceiling)} | 100% |`,
  );
  console.log(`| score consume, ${MODEL}, end to end | ${fmt(scored)} | ${pct(scored / ceiling)} |`);
  console.log(`| score consume, incl. process start-up and model load | ${fmt(wall)} | ${pct(wall / ceiling)} |`);
  console.log(`\nratio: ${pct(scored / ceiling)} of the broker ceiling (target >= 60%)`);
} finally {
  const cleanup = await admin.createChannel();
  for (const q of queues) await cleanup.deleteQueue(q);
  for (const e of exchanges) await cleanup.deleteExchange(e);
  await admin.close();
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
