/**
 * `deno task bench:consume`: how close `score consume` comes to what the
 * broker itself can do on this machine, in one run.
 *
 * For each backlog of `BENCH_BACKLOGS` ride events in the course's shape (default "20000,100000"), already waiting in
 * a durable queue, it measures, in this order (alternated, `BENCH_ROUNDS` rounds, default 3: single runs swing with
 * the broker's own CPU, which varied by half between runs on a quiet machine):
 * - the broker ceiling: a bare amqplib consumer (its own process, prefetch 1024 as score consume by default) that,
 *   per event, publishes a persistent, mandatory prediction-sized message with confirms and acks the event once
 *   confirmed; no JSON, no model;
 * - `./score consume --workers 1` with the linear model, same guarantees, end to end;
 * - the ceiling with 2 bare consumers (two processes on the one queue): do more consumers raise it?
 * - `./score consume --workers 2`;
 * - the course's kind of consumer (bench/course_pika_consumer.py: pika, sklearn, one confirm per event) when Debian's
 *   python3-pika is installed (`apt-get install python3-pika python3-sklearn`), or a line saying it is skipped. One
 *   confirm at a time, its rate does not depend on the backlog: it runs on at most `BENCH_COURSE_EVENTS` (5000) of it,
 *   to keep the run short.
 * Each is timed from the first prediction read back to the last, as the pika consumer times itself. Beside events/s:
 * the consumer processes' CPU-seconds and the broker's (utime + stime from /proc, over the same span), which hold
 * better than wall time on a machine shared with other work; their sum per event is what the whole
 * of it costs the machine, and its ratio to the ceiling's the steadier one. Then, on the idle queue, the latency of lone events
 * (one published at a time, until its prediction is read back) for the ceiling and `score consume`.
 *
 * Everything declared is deleted at the end. A benchmark, not a test: it asserts nothing.
 */
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Channel, connect } from "amqplib";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const URL_ = Deno.env.get("AMQP_URL") ?? "amqp://guest:guest@127.0.0.1:5672";
const BACKLOGS = (Deno.env.get("BENCH_BACKLOGS") ?? "20000,100000").split(",").map(Number);
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 3);
const PREFETCH = 1024;
const MODEL = "ride-duration-linreg";
const PYTHON = "/usr/bin/python3";
const COURSE_EVENTS = Number(Deno.env.get("BENCH_COURSE_EVENTS") ?? 5_000);
const tag = crypto.randomUUID().slice(0, 8);
let runs = 0;

if (Deno.args[0] === "--bare") {
  // The ceiling's consumer runs in its own process, as `score consume` does.
  await bareConsumer(Deno.args[1], Deno.args[2]);
  console.error(JSON.stringify({ msg: "consuming" }));
  await new Promise<void>((resolve) => Deno.addSignalListener("SIGTERM", resolve));
  Deno.exit(0);
}

const admin = await connect(URL_);
const ch = await admin.createConfirmChannel();
const queues: string[] = [];
const exchanges: string[] = [];
const broker = brokerPid();
const pika = await hasPika();

/** One consumer under test: how to start it on a queue, and whether lone events are timed after the backlog. */
interface Contender {
  name: string;
  /** The commands to spawn (one process each), given the queue, the events exchange and the predictions exchange. */
  commands(queue: string, events: string, predictions: string): string[][];
  /** At most this many events of the backlog. */
  maxEvents?: number;
  /** score consume names its queue <model>.<events exchange>. */
  scoreQueue?: boolean;
  latency?: boolean;
}

const bare = (n: number): Contender => ({
  name: `ceiling: ${n} bare amqplib consumer${n > 1 ? "s" : ""}`,
  commands: (queue, _events, predictions) =>
    Array.from({ length: n }, () => [
      join(ROOT, "scripts", "deno"),
      "run",
      "--allow-all",
      "--quiet",
      fileURLToPath(import.meta.url),
      "--bare",
      queue,
      predictions,
    ]),
  latency: n === 1,
});
const score = (workers: number): Contender => ({
  name: `score consume --workers ${workers}`,
  commands: (_queue, events, predictions) => [[
    join(ROOT, "score"),
    "consume",
    ...["--model", MODEL, "--amqp-url", URL_, "--exchange", events, "--prediction-exchange", predictions],
    // The reader's own queue takes the predictions.
    "--no-prediction-queue",
    ...["--workers", String(workers)],
  ]],
  scoreQueue: true,
  latency: true,
});
const course: Contender = {
  name: "the course's pika consumer (sklearn, one confirm per event)",
  commands: (queue, _events, predictions) => [[
    PYTHON,
    join(ROOT, "bench", "course_pika_consumer.py"),
    queue,
    predictions,
  ]],
  maxEvents: COURSE_EVENTS,
};

type Result = { rate: number; consumerCpu: number; brokerCpu: number; latency?: { p50: number; max: number } };

try {
  console.log(`uptime: ${Deno.readTextFileSync("/proc/loadavg").trim()}`);
  if (!pika) console.log(`the course's pika consumer: skipped (${PYTHON} cannot import pika and sklearn)`);
  for (const n of BACKLOGS) {
    const contenders = [bare(1), score(1), bare(2), score(2), ...(pika ? [course] : [])];
    const results = new Map<string, Result[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of contenders) {
        const r = await run(c, n);
        const events = Math.min(n, c.maxEvents ?? Infinity);
        results.set(c.name, [...(results.get(c.name) ?? []), r]);
        console.log(
          `${events} events, ${c.name}: ${fmt(r.rate)} events/s, consumer ${r.consumerCpu.toFixed(2)} CPU-s, broker ${
            r.brokerCpu.toFixed(2)
          } CPU-s${
            r.latency ? `, lone event p50 ${r.latency.p50.toFixed(1)} ms, max ${r.latency.max.toFixed(1)} ms` : ""
          }`,
        );
      }
    }
    table(n, contenders, results);
  }
  console.log(`\nuptime: ${Deno.readTextFileSync("/proc/loadavg").trim()}`);
} finally {
  const cleanup = await admin.createChannel();
  for (const q of queues) await cleanup.deleteQueue(q);
  for (const e of exchanges) await cleanup.deleteExchange(e);
  await admin.close();
}

/** The table of one backlog: means over the rounds, ratios to the one bare consumer and to the course's. */
function table(n: number, contenders: Contender[], results: Map<string, Result[]>) {
  const mean = (name: string, f: (r: Result) => number) => {
    const rs = results.get(name) ?? [];
    return rs.reduce((s, r) => s + f(r), 0) / rs.length;
  };
  const ceiling = mean(bare(1).name, (r) => r.rate);
  const baseline = pika ? mean(course.name, (r) => r.rate) : undefined;
  console.log(
    `\n${fmt(n)}-event backlog, first to last prediction${ROUNDS > 1 ? `, mean of ${ROUNDS} rounds` : ""}:\n`,
  );
  console.log(
    `| run | events/s | vs ceiling |${
      baseline ? " vs course |" : ""
    } events per consumer CPU-s | broker CPU-s | events per CPU-s, consumer + broker | vs ceiling | lone event p50 / max |`,
  );
  console.log(`| --- | ---: | ---: |${baseline ? " ---: |" : ""} ---: | ---: | ---: | ---: | ---: |`);
  const perCpu = (name: string, events: number) => events / mean(name, (r) => r.consumerCpu + r.brokerCpu);
  const ceilingPerCpu = perCpu(bare(1).name, n);
  for (const c of contenders) {
    const rate = mean(c.name, (r) => r.rate);
    const last = results.get(c.name)!.at(-1)!;
    const events = Math.min(n, c.maxEvents ?? Infinity);
    console.log(
      `| ${c.name}${events < n ? ` (on ${fmt(events)} of them)` : ""} | ${fmt(rate)} | ${pct(rate / ceiling)} |${
        baseline ? ` ${(rate / baseline).toFixed(1)}x |` : ""
      } ${fmt(events / mean(c.name, (r) => r.consumerCpu))} | ${mean(c.name, (r) => r.brokerCpu).toFixed(2)} | ${
        fmt(perCpu(c.name, events))
      } | ${pct(perCpu(c.name, events) / ceilingPerCpu)} | ${
        last.latency ? `${last.latency.p50.toFixed(1)} / ${last.latency.max.toFixed(1)} ms` : ""
      } |`,
    );
  }
}

/** One contender on a backlog of n: events/s from the first prediction to the last, CPU-seconds, lone events. */
async function run(c: Contender, backlog: number): Promise<Result> {
  const n = Math.min(backlog, c.maxEvents ?? Infinity);
  // Each run its own names: a consumer killed after its last lone event may leave that event unacked in its queue.
  const label = `${c.name.replace(/[^a-z0-9]+/gi, "_").slice(0, 40)}_${runs++}`;
  const events = `bench_${label}_events_${tag}`;
  const t = await topology(label, events, c.scoreQueue ? `${MODEL}.${events}` : `bench_${label}_q_${tag}`);
  if (c.scoreQueue) {
    exchanges.push(`${events}.dead-letter`);
    queues.push(`${t.queue}.dead-letter`);
  }
  await fill(t.events, t.queue, n);
  const reader = await startReader(t.predictionsQueue);
  const children = c.commands(t.queue, t.events, t.predictions).map(([cmd, ...args]) =>
    new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).spawn()
  );
  try {
    await reader.until(1);
    const cpu0 = children.reduce((s, p) => s + cpuSeconds(p.pid), 0);
    const broker0 = cpuSeconds(broker);
    await reader.until(n);
    const cpu1 = children.reduce((s, p) => s + cpuSeconds(p.pid), 0);
    const broker1 = cpuSeconds(broker);
    const rate = (n - 1) / ((reader.last() - reader.first()) / 1000);
    const latency = c.latency ? await loneEvents(t.events, reader) : undefined;
    return { rate, consumerCpu: cpu1 - cpu0, brokerCpu: broker1 - broker0, latency };
  } finally {
    for (const p of children) p.kill("SIGTERM");
    await Promise.all(children.map((p) => p.status));
    await reader.close();
  }
}

/** Lone events on an idle queue: publish one, wait for its prediction, 20 times; p50 and max in ms. */
async function loneEvents(exchange: string, reader: Awaited<ReturnType<typeof startReader>>) {
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
async function topology(label: string, events: string, queue: string) {
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

/** Publishes n ride events in the course's shape (persistent, confirms, 1000 in flight) into `queue`. */
async function fill(exchange: string, queue: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 1000) {
    for (let j = i; j < Math.min(n, i + 1000); j++) {
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
  const { messageCount } = await ch.checkQueue(queue);
  if (messageCount !== n) throw new Error(`${queue} holds ${messageCount} events, expected ${n}`);
}

/** The broker's part of `score consume` alone: per event, a confirmed persistent mandatory publish, then the ack. */
async function bareConsumer(queue: string, predictions: string): Promise<void> {
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
      mandatory: true,
      contentType: "application/json",
      correlationId: m.properties.messageId,
    }, (err) => {
      try {
        if (err) c.nack(m, false, true);
        else c.ack(m);
      } catch { /* the channel closed: the broker requeues it */ }
    });
  });
}

/** Drains a queue, counting messages and noting when the first and the last arrived. */
async function startReader(queue: string) {
  const conn = await connect(URL_);
  const c: Channel = await conn.createChannel();
  await c.prefetch(1000);
  let count = 0, first = 0, last = 0;
  let wake: (() => void) | undefined;
  await c.consume(queue, (m) => {
    if (m === null) return;
    last = performance.now();
    if (count++ === 0) first = last;
    if (count % 100 === 0) c.ack(m, true);
    wake?.();
  });
  return {
    count: () => count,
    first: () => first,
    last: () => last,
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

/** utime + stime of a process, in seconds (0 once it is gone). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** The RabbitMQ server's process (beam.smp), if this machine runs it. */
function brokerPid(): number | undefined {
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${e.name}/comm`).trim() === "beam.smp") return Number(e.name);
    } catch { /* gone */ }
  }
  return undefined;
}

/** Debian's python3 with pika and scikit-learn, for the course's consumer. */
async function hasPika(): Promise<boolean> {
  try {
    const { code } = await new Deno.Command(PYTHON, { args: ["-c", "import pika, sklearn"], stderr: "null" }).output();
    return code === 0;
  } catch {
    return false;
  }
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}
