/**
 * `score consume --workers N`: N worker threads, each a whole consumer of
 * the one queue (its own model and onnxruntime session, its own connection
 * and channel, its own prefetch: the broker spreads the events over them).
 * This thread starts them, takes SIGTERM/SIGINT and tells every worker to
 * finish its events in flight (one still starting stops as soon as it
 * consumes), serves `--metrics-port` with every worker's metrics summed,
 * and ends when the last has stopped. SIGHUP reaches every worker's own
 * listener: each reloads its model.
 */
import type { InterruptedError } from "../errors.ts";
import { listenForInterrupt } from "../cli/interrupt.ts";
import { log } from "../log.ts";
import { type MetricsJson, summedText } from "../metrics/mod.ts";
import { type MetricsSource, serveMetrics } from "../queue/metrics_server.ts";
import { type ConsumeFlags, metricsServer } from "./consume.ts";
import { revive, type WorkerFailure } from "./worker_failure.ts";
import { WorkerReplies } from "./worker_replies.ts";

/** A scrape waits this long for every worker's metrics, then sums those that came. */
const GATHER_TIMEOUT_MS = 2000;

/** Gauges that add up across workers (in flight events, connected consumers); any other shows its largest value. */
export const ADDITIVE_GAUGES = ["score_consumer_events_in_flight", "score_consumer_connected"];

/** Messages between this thread and the workers (src/commands/consume_worker.ts). */
export type ToConsumeWorker =
  | { type: "start"; flags: ConsumeFlags; index: number; log: ReturnType<typeof log.settings> }
  | { type: "stop"; signal: "SIGTERM" | "SIGINT" }
  | { type: "collect"; id: number };
export type FromConsumeWorker =
  | { type: "metrics"; model: string }
  | { type: "stopped" }
  | ({ type: "failed" } & WorkerFailure)
  | { type: "collected"; id: number; metrics: MetricsJson; connected: boolean };

/** What one worker answered to a scrape. */
interface Collected {
  metrics: MetricsJson;
  connected: boolean;
}

/**
 * Consumes with `flags.workers` threads until a signal, then lets each finish its events in flight.
 *
 * @example
 * ```ts
 * await consumeWorkers({ ...flags, workers: 2 });
 * ```
 */
export async function consumeWorkers(flags: ConsumeFlags): Promise<void> {
  const workers: Worker[] = [];
  const stopped: Promise<void>[] = [];
  const interrupt = listenForInterrupt({ stopping: "stopping after the events in flight" });
  let stopping: "SIGTERM" | "SIGINT" | undefined;
  const stop = (worker: Worker) => worker.postMessage({ type: "stop", signal: stopping! } satisfies ToConsumeWorker);
  const stopAll = (signal: "SIGTERM" | "SIGINT") => {
    if (stopping) return;
    stopping = signal;
    workers.forEach(stop);
  };
  interrupt.signal.addEventListener(
    "abort",
    () => stopAll((interrupt.signal.reason as InterruptedError).signal as "SIGTERM" | "SIGINT"),
    { once: true },
  );
  const replies = new WorkerReplies<Collected>();
  let model = flags.model;

  /** Every worker's metrics (those that answer within the timeout). */
  const collect = () =>
    replies.ask(workers, (id) => ({ type: "collect", id }) satisfies ToConsumeWorker, GATHER_TIMEOUT_MS);
  const summed: MetricsSource = {
    get model() {
      return model;
    },
    render: async () => summedText((await collect()).map((c) => c.metrics), ADDITIVE_GAUGES),
    isConnected: async () => {
      const all = await collect();
      return all.length === workers.length && all.every((c) => c.connected);
    },
  };

  const spawn = (index: number) => {
    const worker = new Worker(new URL("./consume_worker.ts", import.meta.url).href, { type: "module" });
    workers.push(worker);
    const done = Promise.withResolvers<void>();
    worker.onmessage = (e: MessageEvent<FromConsumeWorker>) => {
      const m = e.data;
      if (m.type === "metrics") model = m.model;
      else if (m.type === "stopped") done.resolve();
      else if (m.type === "failed") done.reject(revive(m));
      else if (m.type === "collected") replies.answer(m.id, { metrics: m.metrics, connected: m.connected });
    };
    worker.onerror = (e) => {
      e.preventDefault();
      done.reject(new Error(`consume worker ${index} failed: ${e.message}`));
    };
    worker.postMessage(
      { type: "start", flags: { ...flags, workers: 1 }, index, log: log.settings() } satisfies ToConsumeWorker,
    );
    if (stopping) stop(worker);
    // One worker failing (the broker refusing our credentials, say) stops the others: each finishes its events.
    stopped.push(done.promise.catch((err) => {
      stopAll("SIGTERM");
      throw err;
    }));
  };

  const server = flags.metricsPort === undefined
    ? undefined
    : metricsServer(serveMetrics, summed, flags.metricsPort, flags.host);
  try {
    for (let i = 0; i < flags.workers; i++) spawn(i);
    log.info("workers started", { workers: flags.workers });
    const results = await Promise.allSettled(stopped);
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  } finally {
    interrupt.dispose();
    await server?.shutdown();
    for (const w of workers) w.terminate();
  }
}
