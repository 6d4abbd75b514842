/**
 * `deno task bench:soak` (`make bench-soak`): the service and the consumer
 * under hostile conditions for a few minutes, on loopback, at once:
 * - `score serve` (linreg, `--headers-timeout 5`) under a bounded mixed load
 *   (SOAK_CLIENTS workers, 16): good requests, bad ones (malformed JSON, a
 *   missing field), oversized bodies, slow clients that send half their
 *   headers and stall, and clients that hang up mid-body;
 * - `score consume` (linreg) fed SOAK_RATE events/s (200) with unique ids,
 *   while its own broker connection is closed every 20 s with rabbitmqctl
 *   (only that connection, found by its name).
 * It reports requests by outcome and status, p50/p99 latency of the good
 * ones, the server's RSS at start, peak and end, events in vs predictions
 * out, missing and duplicated ids. SOAK_SECONDS (150) sets the length.
 *
 * A benchmark, not a test: bounded, asserts nothing. Everything it declares
 * on the broker is deleted at the end.
 */
import { Buffer } from "node:buffer";
import { connect as tcp } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "amqplib";
import { closeConnectionsNamed } from "../tests/queue/close_connections.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SECONDS = Number(Deno.env.get("SOAK_SECONDS") ?? 150);
const CLIENTS = Number(Deno.env.get("SOAK_CLIENTS") ?? 16);
const RATE = Number(Deno.env.get("SOAK_RATE") ?? 200);
const AMQP_URL = Deno.env.get("AMQP_URL") ?? "amqp://guest:guest@127.0.0.1:5672";
const MODEL = "ride-duration-linreg";
const CLOSE_EVERY_S = 20;
const tag = crypto.randomUUID().slice(0, 8);

/** A child `./score` with its JSON log lines collected. */
function start(args: string[]) {
  const child = new Deno.Command(join(ROOT, "score"), { args, stdin: "null", stdout: "null", stderr: "piped" })
    .spawn();
  const lines: Record<string, unknown>[] = [];
  const done = (async () => {
    let rest = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const p of parts) if (p.startsWith("{")) lines.push(JSON.parse(p));
    }
  })();
  const when = async (msg: string) => {
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      const line = lines.find((l) => l.msg === msg);
      if (line) return line;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no "${msg}" line within 60 s: ${JSON.stringify(lines)}`);
  };
  return { child, lines, done, when };
}

function rssMb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))![1]) / 1024;
  } catch {
    return NaN;
  }
}

// ---------------------------------------------------------------- serve
async function soakServe(until: number) {
  // One worker, as the soaks before the default became one a CPU: its RSS bounds compare with theirs.
  const server = start([
    "serve",
    "--model",
    MODEL,
    "--port",
    "0",
    "--workers",
    "1",
    "--headers-timeout",
    "5",
    "--no-access-log",
  ]);
  const port = (await server.when("listening")).port as number;
  const url = `http://127.0.0.1:${port}/predict`;
  const rss = { start: rssMb(server.child.pid), peak: 0, end: 0 };
  const sampler = setInterval(() => rss.peak = Math.max(rss.peak, rssMb(server.child.pid)), 250);
  const outcomes = new Map<string, number>();
  const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
  const latencies: number[] = [];
  const ride = (i: number) => ({ PULocationID: 1 + i % 265, DOLocationID: 1 + (i * 7) % 265, trip_distance: i % 40 });
  const oversized = JSON.stringify(Array.from({ length: 30_000 }, (_, i) => ride(i))); // > 1 MiB
  let slowOpen = 0;

  const post = async (kind: string, body: string) => {
    const t = performance.now();
    try {
      const res = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json" } });
      await res.arrayBuffer();
      if (kind === "good" && res.status === 200) latencies.push(performance.now() - t);
      count(`${kind} -> ${res.status}`);
    } catch {
      count(`${kind} -> connection error`);
    }
  };
  // Raw sockets for what fetch cannot do: stall, or hang up half way.
  const raw = (kind: "slow" | "aborted") =>
    new Promise<void>((resolve) => {
      const body = JSON.stringify(ride(1));
      const socket = tcp(port, "127.0.0.1", () => {
        if (kind === "slow") socket.write("POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: appl");
        else {
          socket.write(
            `POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
          );
          setTimeout(() => socket.destroy(), 20);
        }
      });
      let answer = "";
      socket.on("data", (d) => answer += d);
      socket.on("error", () => {});
      socket.on("close", () => {
        const status = /^HTTP\/1\.1 (\d+)/.exec(answer)?.[1];
        count(`${kind} -> ${kind === "aborted" ? "hung up" : status ? status : "closed by the server"}`);
        resolve();
      });
    });

  const worker = async (w: number) => {
    for (let i = w; Date.now() < until; i += CLIENTS) {
      const r = i % 20;
      if (r < 14) await post("good", JSON.stringify(ride(i)));
      else if (r === 14) await post("bad", '{"PULocationID": 1, "DOLocationID":');
      else if (r === 15) await post("bad", JSON.stringify({ PULocationID: 1, DOLocationID: 2 }));
      else if (r === 16) await post("oversized", oversized);
      else if (r === 17 && slowOpen < 32) {
        slowOpen++;
        raw("slow").finally(() => slowOpen--); // not awaited: it stalls until the server closes it
      } else await raw("aborted");
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, (_, w) => worker(w)));
  while (slowOpen > 0) await new Promise((r) => setTimeout(r, 100));
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  await new Promise((r) => setTimeout(r, 2000));
  rss.end = rssMb(server.child.pid);
  clearInterval(sampler);
  server.child.kill("SIGTERM");
  const code = (await server.child.status).code;
  await server.done;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  const byStatus = [...metrics.matchAll(/^score_http_requests_total\{[^}]*status="(\d+)"[^}]*\} (\d+)/gm)]
    .reduce((m, [, s, n]) => m.set(s, (m.get(s) ?? 0) + Number(n)), new Map<string, number>());
  const scalar = (name: string) => new RegExp(`^${name} (\\d+)`, "m").exec(metrics)?.[1] ?? "?";
  return {
    outcomes: [...outcomes].sort(),
    serverStatuses: [...byStatus].sort(),
    timeouts: scalar("score_http_timeouts_total"),
    refused: scalar("score_http_connections_refused_total"),
    p50: q(0.5),
    p99: q(0.99),
    good: latencies.length,
    rss,
    exit: code,
    errors: server.lines.filter((l) => l.level === "error").length,
  };
}

// ---------------------------------------------------------------- consume
async function soakConsume(until: number) {
  const admin = await connect(AMQP_URL);
  const ch = await admin.createConfirmChannel();
  const events = `soak_events_${tag}`;
  const predictions = `soak_predictions_${tag}`;
  const readerQueue = `soak_predictions_q_${tag}`;
  await ch.assertExchange(events, "topic", { durable: true });
  await ch.assertExchange(predictions, "topic", { durable: true });
  await ch.assertQueue(readerQueue, { durable: true });
  await ch.bindQueue(readerQueue, predictions, "#");
  const seen = new Map<number, number>();
  const reader = await admin.createChannel();
  await reader.prefetch(1000);
  await reader.consume(readerQueue, (m) => {
    if (m === null) return;
    const body = JSON.parse(m.content.toString());
    const id = Number(body.prediction?.ride_id ?? body.ride_id);
    seen.set(id, (seen.get(id) ?? 0) + 1);
    reader.ack(m);
  });
  const consumer = start([
    "consume",
    "--model",
    MODEL,
    "--amqp-url",
    AMQP_URL,
    "--exchange",
    events,
    "--prediction-exchange",
    predictions,
    // The reader's own queue takes the predictions.
    "--no-prediction-queue",
    // One worker: its connection is the one named below, closed every CLOSE_EVERY_S (a worker's has " (worker n)").
    "--workers",
    "1",
  ]);
  await consumer.when("consuming");
  const queue = `${MODEL}.${events}`;
  let published = 0;
  let closes = 0;
  const closer = setInterval(async () => {
    closes += await closeConnectionsNamed(`score consume ${MODEL} ${queue}`, "soak: forced close").catch(() => 0);
  }, CLOSE_EVERY_S * 1000);
  // Paced publishing with confirms: RATE events a second, in 10 slices.
  while (Date.now() < until) {
    const slice = Date.now();
    for (let j = 0; j < RATE / 10; j++, published++) {
      const body = {
        ride: { PULocationID: 1 + published % 265, DOLocationID: 2, trip_distance: 1 + published % 30 },
        ride_id: published,
      };
      ch.publish(events, "ride", Buffer.from(JSON.stringify(body)), { persistent: true, messageId: String(published) });
    }
    await ch.waitForConfirms();
    await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - slice))));
  }
  clearInterval(closer);
  // Whatever is still on its way: wait until every id arrived, or 60 s.
  for (const deadline = Date.now() + 60_000; seen.size < published && Date.now() < deadline;) {
    await new Promise((r) => setTimeout(r, 200));
  }
  consumer.child.kill("SIGTERM");
  const code = (await consumer.child.status).code;
  await consumer.done;
  const duplicates = [...seen.values()].reduce((n, c) => n + c - 1, 0);
  const missing = published - [...seen.keys()].filter((id) => id < published).length;
  const cleanup = await admin.createChannel();
  for (const q of [readerQueue, queue, `${queue}.dead-letter`]) await cleanup.deleteQueue(q).catch(() => {});
  for (const e of [events, predictions, `${events}.dead-letter`]) await cleanup.deleteExchange(e).catch(() => {});
  await admin.close();
  return {
    published,
    predictions: [...seen.values()].reduce((a, b) => a + b, 0),
    unique: seen.size,
    missing,
    duplicates,
    closes,
    reconnects: consumer.lines.filter((l) => String(l.msg).includes("reconnect")).length,
    exit: code,
  };
}

const until = Date.now() + SECONDS * 1000;
console.log(
  `soak: ${SECONDS} s, ${CLIENTS} HTTP clients, ${RATE} events/s, consumer connection closed every ${CLOSE_EVERY_S} s`,
);
const [serve, consume] = await Promise.all([soakServe(until), soakConsume(until)]);
console.log("\n## serve");
console.log("| client's view | requests |\n| --- | ---: |");
for (const [k, n] of serve.outcomes) console.log(`| ${k} | ${n} |`);
console.log(`\nserver's /metrics by status: ${serve.serverStatuses.map(([s, n]) => `${s}: ${n}`).join(", ")}`);
console.log(`connections timed out: ${serve.timeouts}, refused over the cap: ${serve.refused}`);
console.log(`good requests: ${serve.good}, p50 ${serve.p50.toFixed(2)} ms, p99 ${serve.p99.toFixed(2)} ms`);
console.log(
  `RSS: start ${serve.rss.start.toFixed(0)} MB, peak ${serve.rss.peak.toFixed(0)} MB, end ${
    serve.rss.end.toFixed(0)
  } MB`,
);
console.log(`error log lines: ${serve.errors}; exit on SIGTERM: ${serve.exit}`);
console.log("\n## consume");
console.log(
  `events in: ${consume.published}; predictions out: ${consume.predictions} (${consume.unique} distinct ids)`,
);
console.log(`missing: ${consume.missing}; duplicates: ${consume.duplicates}`);
console.log(`its connection closed ${consume.closes} times; exit on SIGTERM: ${consume.exit}`);
