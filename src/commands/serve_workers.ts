/**
 * `score serve --workers N`: N threads, each with its own models (its own
 * onnxruntime session, as gunicorn's workers each hold theirs) and its own
 * listener on the one port (SO_REUSEPORT: the kernel spreads the
 * connections), each running the whole service of `serve.ts`. This thread
 * is the first of them (it picks the port when it is 0): it answers as soon
 * as one thread alone would, and the N - 1 worker threads start once it
 * listens. It also takes SIGTERM/SIGINT and tells every worker to drain
 * (one that is still starting drains as soon as it listens), sums every
 * thread's metrics for whichever is scraped on `/metrics`, and ends when the
 * last has drained. SIGHUP reaches every thread's own listener: each
 * reloads its models. gRPC (`--grpc-port`) is served by this thread only:
 * grpc-js's listener cannot share a port.
 */
import { type InterruptedError, UsageError } from "../errors.ts";
import { listenForInterrupt } from "../cli/interrupt.ts";
import { log } from "../log.ts";
import { type MetricsJson, summedText } from "../metrics/mod.ts";
import type { Metrics } from "../serving/metrics.ts";
import { runServe, type ServeFlags } from "./run_serve.ts";
import { revive, type WorkerFailure } from "./worker_failure.ts";
import { WorkerReplies } from "./worker_replies.ts";

/** A scrape waits this long for every worker's metrics, then sums those that came. */
const GATHER_TIMEOUT_MS = 2000;

/** Gauges that add up across workers; any other gauge shows its largest value (see `summedText`). */
export const ADDITIVE_GAUGES = [
  "score_http_connections",
  "score_http_requests_in_flight",
  "score_queue_rows",
  "score_prediction_log_buffered",
  // Each worker's drift window holds the rows it answered: together, the process's window.
  "score_drift_window_rows",
];

/** Messages between this thread and the workers (src/commands/serve_worker.ts). */
export type ToWorker =
  | { type: "start"; flags: ServeFlags; index: number; log: ReturnType<typeof log.settings> }
  | { type: "stop"; signal: "SIGTERM" | "SIGINT" }
  | { type: "collect"; id: number }
  | { type: "gathered"; id: number; text: string };
export type FromWorker =
  | { type: "listening"; port: number }
  | { type: "stopped"; late: boolean }
  | ({ type: "failed" } & WorkerFailure)
  | { type: "gather"; id: number }
  | { type: "collected"; id: number; metrics: MetricsJson };

/**
 * Serves with `flags.workers` threads until a signal; true when a drain timed out.
 *
 * @example
 * ```ts
 * const late = await serveWorkers({ ...flags, workers: 2 });
 * ```
 */
export async function serveWorkers(flags: ServeFlags): Promise<boolean> {
  const workers: Worker[] = [];
  const stopped: Promise<boolean>[] = [];
  const interrupt = listenForInterrupt({ stopping: "readiness off; draining" });
  const stop = (worker: Worker) =>
    worker.postMessage(
      { type: "stop", signal: (interrupt.signal.reason as InterruptedError).signal } satisfies ToWorker,
    );
  interrupt.signal.addEventListener("abort", () => workers.forEach(stop), { once: true });
  const replies = new WorkerReplies<MetricsJson>();
  /** This thread's own metrics, once its service has made them. */
  let own: Metrics | undefined;
  const summed = async () => {
    const got = await replies.ask(
      workers,
      (key) => ({ type: "collect", id: key }) satisfies ToWorker,
      GATHER_TIMEOUT_MS,
    );
    if (own !== undefined) got.push(await own.registry.getMetricsAsJSON());
    return await summedText(got, ADDITIVE_GAUGES);
  };
  const gather = async (requester: Worker, id: number) => {
    requester.postMessage({ type: "gathered", id, text: await summed() } satisfies ToWorker);
  };
  // --max-connections bounds the process's descriptors: each thread gets its share.
  const maxConnections = Math.max(1, Math.floor(flags.maxConnections / flags.workers));

  let grpcPort: number | undefined;
  const spawn = (index: number, port: number): Promise<number> => {
    const worker = new Worker(new URL("./serve_worker.ts", import.meta.url).href, { type: "module" });
    workers.push(worker);
    const listening = Promise.withResolvers<number>();
    const done = Promise.withResolvers<boolean>();
    // Whichever comes first is what failed; the other is then moot.
    listening.promise.catch(() => {});
    done.promise.catch(() => {});
    const fail = (err: Error) => {
      listening.reject(err);
      done.reject(err);
    };
    worker.onmessage = (e: MessageEvent<FromWorker>) => {
      const m = e.data;
      if (m.type === "listening") listening.resolve(m.port);
      else if (m.type === "stopped") done.resolve(m.late);
      else if (m.type === "failed") fail(revive(m));
      else if (m.type === "gather") gather(worker, m.id);
      else if (m.type === "collected") replies.answer(m.id, m.metrics);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      fail(new Error(`serve worker ${index} failed: ${e.message}`));
    };
    // gRPC's listener cannot share its port: this thread alone serves --grpc-port.
    const started = { ...flags, port, workers: 1, maxConnections, grpcPort: undefined };
    worker.postMessage({ type: "start", flags: started, index, log: log.settings() } satisfies ToWorker);
    if (interrupt.signal.aborted) stop(worker);
    stopped.push(done.promise);
    return listening.promise;
  };

  try {
    claimPort(flags.host, flags.port);
    // This thread serves first (it picks the port when --port is 0); the workers share the port once it listens.
    const listening = Promise.withResolvers<number>();
    const first = runServe({ ...flags, workers: 1, maxConnections }, {
      index: 0,
      stop: interrupt.signal,
      listening: (port, grpc) => {
        grpcPort = grpc;
        listening.resolve(port);
      },
      metrics: (metrics) => {
        own = metrics;
        metrics.renderWith(summed);
      },
    });
    stopped.push(first);
    first.catch((err) => listening.reject(err));
    const port = await listening.promise;
    await Promise.all(Array.from({ length: flags.workers - 1 }, (_, i) => spawn(i + 1, port)));
    const host = flags.host.includes(":") ? `[${flags.host}]` : flags.host;
    log.info("listening", {
      url: `http://${host}:${port}`,
      port,
      grpc_port: grpcPort,
      workers: flags.workers,
      listener: flags.listener,
    });
    const late = await Promise.all(stopped);
    return late.some((l) => l);
  } finally {
    interrupt.dispose();
    for (const w of workers) w.terminate();
  }
}

/**
 * Fails when something already listens on the port: the workers bind it with SO_REUSEPORT, which another process's
 * listener with the same option (a second `score serve`) would share without a word. A bind without the option
 * fails on any listener, so this one, closed at once, tells.
 */
function claimPort(hostname: string, port: number): void {
  if (port === 0) return;
  try {
    Deno.listen({ hostname, port }).close();
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) {
      throw new UsageError(`Port ${port} on ${hostname} is already in use (--port)`, { cause: err });
    }
    throw err;
  }
}
