/**
 * `score consume --workers N`: N threads, each a whole consumer of the one
 * queue (its own model and onnxruntime session, its own connection and
 * channel, its own prefetch: the broker spreads the events over them).
 * This thread is the first of them (it consumes as soon as one thread
 * alone would), and starts the N - 1 worker threads once its model is
 * open. It takes SIGTERM/SIGINT and tells every consumer to finish its
 * events in flight (one still starting stops as soon as it consumes),
 * serves `--metrics-port` with every thread's metrics summed, and ends
 * when the last has stopped. SIGHUP reaches every thread's own listener:
 * each reloads its model.
 */
import { InterruptedError } from "../errors.ts";
import { listenForInterrupt } from "../cli/interrupt.ts";
import { log } from "../log.ts";
import { type MetricsJson, summedText } from "../metrics/mod.ts";
import type { MetricsSource } from "../queue/mod.ts";
import type { ConsumerMetrics } from "../queue/consumer_metrics.ts";
import { type ConsumeFlags, metricsServer, runConsume } from "./run_consume.ts";
import { revive, type WorkerFailure } from "./worker_failure.ts";
import { WorkerReplies } from "./worker_replies.ts";

/** A scrape waits this long for every worker's metrics, then sums those that came. */
const GATHER_TIMEOUT_MS = 2000;

/** Gauges that add up across workers (in flight events, connected consumers); any other shows its largest value. */
export const ADDITIVE_GAUGES = [
  "score_consumer_events_in_flight",
  "score_consumer_connected",
  // Each worker's drift window holds the events it scored: together, the process's window.
  "score_drift_window_rows",
];

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
  /** Stops this thread's own consumer. */
  const stopOwn = new AbortController();
  const stop = (worker: Worker) => worker.postMessage({ type: "stop", signal: stopping! } satisfies ToConsumeWorker);
  const stopAll = (signal: "SIGTERM" | "SIGINT") => {
    if (stopping) return;
    stopping = signal;
    stopOwn.abort(new InterruptedError(signal));
    workers.forEach(stop);
  };
  interrupt.signal.addEventListener(
    "abort",
    () => stopAll((interrupt.signal.reason as InterruptedError).signal as "SIGTERM" | "SIGINT"),
    { once: true },
  );
  const replies = new WorkerReplies<Collected>();
  let model = flags.model;
  /** This thread's own consumer's metrics, once its model is open. */
  let own: ConsumerMetrics | undefined;

  /** Every thread's metrics (the workers' that answer within the timeout). */
  const collect = async () => {
    const got = await replies.ask(
      workers,
      (id) => ({ type: "collect", id }) satisfies ToConsumeWorker,
      GATHER_TIMEOUT_MS,
    );
    if (own !== undefined) got.push({ metrics: await own.registry.getMetricsAsJSON(), connected: own.connected });
    return got;
  };
  const summed: MetricsSource = {
    get model() {
      return model;
    },
    render: async () => summedText((await collect()).map((c) => c.metrics), ADDITIVE_GAUGES),
    isConnected: async () => {
      const all = await collect();
      return all.length === workers.length + 1 && all.every((c) => c.connected);
    },
  };

  // One consumer failing (the broker refusing our credentials, say) stops the others: each finishes its events.
  const failing = (err: unknown) => {
    stopAll("SIGTERM");
    throw err;
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
    stopped.push(done.promise.catch(failing));
  };

  const server = flags.metricsPort === undefined
    ? undefined
    : await metricsServer(summed, flags.metricsPort, flags.host);
  try {
    // This thread consumes first; the workers start once its model is open (they would compete for the cores).
    const opened = Promise.withResolvers<void>();
    const first = runConsume({ ...flags, workers: 1 }, {
      index: 0,
      stop: stopOwn.signal,
      metrics: (metrics) => {
        own = metrics;
        model = metrics.model;
        opened.resolve();
      },
    });
    stopped.push(first.catch(failing));
    // Failed or stopped before its model opened: the workers are not started (its failure is thrown below).
    first.catch(() => {}).finally(() => opened.resolve());
    await opened.promise;
    if (!stopping) { for (let i = 1; i < flags.workers; i++) spawn(i); }
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
