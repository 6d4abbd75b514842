/**
 * The web service in one thread, as `score serve` runs it
 * (src/commands/serve.ts) or each of its `--workers` threads
 * (src/commands/serve_workers.ts): it loads the models, opens the prediction
 * log, builds the HTTP app (and, with `--grpc-port`, the gRPC service over the
 * same data plane), listens (`--listener guarded`, the default,
 * src/http/listen_guarded.ts: Deno's HTTP server with timeouts and a
 * connection cap; `--listener node`, src/http/listen.ts: node:http with the
 * same; or `--listener deno`, src/http/listen_deno.ts: bare Deno.serve, for
 * behind a proxy), and on SIGTERM/SIGINT drains: readiness turns false while
 * requests are still served for `--drain-delay` (so a load balancer or
 * Kubernetes sees it and stops routing), then the listener closes, in-flight
 * requests and calls finish (up to `--shutdown-timeout`), the prediction log
 * is flushed.
 */
import { loadOptionsOf, type OnlineFlags, resolveOptionsOf } from "../cli/options.ts";
import { listenForInterrupt, pressedAtTerminal } from "../cli/interrupt.ts";
import { InterruptedError, UsageError } from "../errors.ts";
import type * as AccessLogModule from "../serving/access_log.ts";
import type * as CreateApp from "../http/create_app.ts";
import type { ConnectionStats, HttpListener } from "../http/listen.ts";
import type * as Listen from "../http/listen.ts";
import type * as ListenDeno from "../http/listen_deno.ts";
import type * as ListenGuarded from "../http/listen_guarded.ts";
import { bearerToken } from "../http/bearer_token.ts";
import type { GrpcListener } from "../grpc/mod.ts";
import type * as Grpc from "../grpc/mod.ts";
import { lazyImport } from "../lazy_import.ts";
import type { Metrics } from "../serving/metrics.ts";
import type * as MetricsModule from "../serving/metrics.ts";
import type { RequestEnvelope } from "../serving/envelope.ts";
import type * as Envelope from "../serving/envelope.ts";
import { log, redact } from "../log.ts";
import type { DataPlane } from "../serving/data_plane.ts";
import type * as DataPlaneModule from "../serving/data_plane.ts";
import type { DriftWatch } from "../serving/drift_watch.ts";
import type * as DriftWatchModule from "../serving/drift_watch.ts";
import type { OpenedModel } from "../store/mod.ts";
import type * as Store from "../store/mod.ts";
import type { PredictionLog } from "../serving/prediction_log.ts";
import type * as PredictionLogModule from "../serving/prediction_log.ts";
import { VERSION } from "../version.ts";
import type * as BatchMonitor from "./batch_monitor.ts";
import type { ServiceMonitorFlags } from "./monitor_plan.ts";

export interface ServeFlags extends OnlineFlags, ServiceMonitorFlags {
  model: string[];
  host: string;
  port: number;
  maxQueue: number;
  maxBodyBytes: number;
  apiKey?: string;
  shutdownTimeout: number;
  drainDelay: number;
  logPredictions?: string;
  logPredictionsBuffer: number;
  accessLog: boolean;
  headersTimeout: number;
  bodyTimeout: number;
  keepAliveTimeout: number;
  maxConnections: number;
  listener: "guarded" | "node" | "deno";
  grpcPort?: number;
  grpcMaxMessageBytes: number;
  workers: number;
}

/** How a worker thread of `--workers` runs the service (src/commands/serve_workers.ts). */
export interface WorkerHooks {
  /** Told the port once listening (shared by every worker: SO_REUSEPORT), and gRPC's if this worker serves it. */
  listening(port: number, grpcPort?: number): void;
  /** Given the worker's metrics, to serve the sum of every worker's on /metrics. */
  metrics(metrics: Metrics): void;
  /** Aborted (with an `InterruptedError`) when the main thread gets SIGTERM/SIGINT: then this worker drains. */
  stop: AbortSignal;
  /** The worker's number, logged. */
  index: number;
}

/**
 * The service in this thread: opens the models and the prediction log, serves until a signal, closes them;
 * true when the drain timed out. A worker of `--workers` runs it with `hooks`.
 */
export async function runServe(flags: ServeFlags, hooks?: WorkerHooks): Promise<boolean> {
  // The model's, the web app's and the log's code load once the flags are checked: `score serve --help` loads none.
  const [{ openModel }, { DataPlane }] = await Promise.all([
    lazyImport<typeof Store>(new URL("../store/mod.ts", import.meta.url)),
    lazyImport<typeof DataPlaneModule>(new URL("../serving/data_plane.ts", import.meta.url)),
  ]);
  const opened: (OpenedModel & { uri: string })[] = [];
  let predictions: PredictionLog | undefined;
  let plane: DataPlane | undefined;
  const readiness = { ready: true };
  // The drift watch, made by serve() beside the metrics it fills; the data plane hands it each request's columns.
  const monitor: { watch?: DriftWatch } = {};
  let late = false;
  try {
    for (const uri of flags.model) {
      const { model, resolved } = await openModel(uri, resolveOptionsOf(flags), loadOptionsOf(flags));
      const twin = opened.some((o) => o.model.name === model.name);
      opened.push({ uri, model, resolved });
      if (twin) {
        throw new UsageError(
          `Two models are named "${model.name}" (${redact(uri)}); give one a "name" in its model.json or #name=<name>`,
        );
      }
    }
    if (flags.logPredictions) {
      const { PredictionLog } = await lazyImport<typeof PredictionLogModule>(
        new URL("../serving/prediction_log.ts", import.meta.url),
      );
      predictions = await PredictionLog.open(flags.logPredictions, {
        bufferRows: flags.logPredictionsBuffer,
        what: "--log-predictions",
      });
    }
    // The one owner of the served models from here: reloads swap them in it, and it closes those serving at the end.
    plane = new DataPlane(opened.map((o) => o.model), {
      version: VERSION,
      batching: { maxBatchSize: flags.maxBatchSize, maxDelayMs: flags.maxBatchDelayMs, maxQueue: flags.maxQueue },
      predictions,
      isReady: () => readiness.ready,
      observe: flags.monitor === undefined ? undefined : (...args) => monitor.watch?.observe(...args),
    });
    late = await serve(plane, opened, predictions, readiness, monitor, flags, hooks);
  } finally {
    await predictions?.close();
    if (plane !== undefined) await plane.close();
    else for (const { model } of opened) await model.close();
  }
  return late;
}

/** Listens until a signal, then drains; true when the drain timed out. */
async function serve(
  plane: DataPlane,
  opened: readonly (OpenedModel & { uri: string })[],
  predictions: PredictionLog | undefined,
  readiness: { ready: boolean },
  monitor: { watch?: DriftWatch },
  flags: ServeFlags,
  hooks?: WorkerHooks,
): Promise<boolean> {
  const models = plane.models;
  const [{ Metrics }, { AccessLog }, { ModelReloader }, { observePlane, RequestEnvelope }] = await Promise.all([
    lazyImport<typeof MetricsModule>(new URL("../serving/metrics.ts", import.meta.url)),
    lazyImport<typeof AccessLogModule>(new URL("../serving/access_log.ts", import.meta.url)),
    lazyImport<typeof Store>(new URL("../store/mod.ts", import.meta.url)),
    lazyImport<typeof Envelope>(new URL("../serving/envelope.ts", import.meta.url)),
  ]);
  const metrics = new Metrics();
  hooks?.metrics(metrics);
  if (predictions !== undefined) {
    const p = predictions;
    metrics.addCounter({
      name: "score_prediction_log_written_total",
      help: "Predictions written to the log table.",
      read: () => [{ value: p.written }],
    });
    metrics.addCounter({
      name: "score_prediction_log_dropped_total",
      help: "Predictions dropped from the log (buffer full or Postgres failing).",
      read: () => [{ value: p.dropped }],
    });
    metrics.addGauge({
      name: "score_prediction_log_buffered",
      help: "Predictions waiting to be written to the log.",
      read: () => [{ value: p.buffered }],
    });
  }
  const accessLog = flags.accessLog ? new AccessLog() : false;
  // The monitor's code loads only with --monitor.
  const watch = flags.monitor === undefined ? undefined : (await lazyImport<typeof DriftWatchModule>(
    new URL("../serving/drift_watch.ts", import.meta.url),
  )).watchDrift(
    await (await lazyImport<typeof BatchMonitor>(new URL("./batch_monitor.ts", import.meta.url)))
      .loadReference(flags.monitor, models),
    metrics.registry,
    { windowSeconds: flags.monitorWindow, periodSeconds: flags.monitorPeriod },
  );
  monitor.watch = watch;
  const reloader = new ModelReloader(opened, {
    store: resolveOptionsOf(flags),
    load: loadOptionsOf(flags),
    swap: (next) => plane.swap(next),
  });
  metrics.addCounter({
    name: "score_model_reloads_total",
    help: "Reloads that swapped in a new model version (reloaded) or left the old one serving (failed), by model.",
    labelNames: ["model", "result"],
    read: () => reloader.counts().map((c) => ({ labels: { model: c.model, result: c.result }, value: c.count })),
  });
  const envelope = new RequestEnvelope(metrics, accessLog);
  observePlane(metrics, plane);
  let listeners: Listeners;
  try {
    listeners = await startListeners(plane, envelope, flags, hooks !== undefined);
  } catch (err) {
    watch?.stop();
    throw err;
  }
  const { http: server, grpc } = listeners;
  if (server.stats) addConnectionMetrics(metrics, server.stats);
  metrics.addCounter({
    name: "score_http_accept_errors_total",
    help: "Times the listener could not accept connections (out of file descriptors) and was opened anew.",
    read: () => [{ value: server.acceptErrors() }],
  });
  const hostname = server.hostname;
  // Before "listening": a signal sent as soon as that line shows is a drain, not the default exit.
  // A worker stops when the main thread, which has the signal handlers, tells it to.
  const interrupt = hooks
    ? { signal: hooks.stop, dispose() {} }
    : listenForInterrupt({ stopping: "readiness off; draining" });
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  hooks?.listening(server.port, grpc?.port);
  // Each worker logs its own line; the main thread logs "listening" once they all listen.
  log.info(hooks ? "worker listening" : "listening", {
    worker: hooks?.index,
    url: `http://${host}:${server.port}`,
    port: server.port,
    grpc_port: grpc?.port,
    models: models.map((m) => `${m.name}@${m.version}`),
    api_key: flags.apiKey ? "required" : "off",
    prediction_log: predictions?.description,
    listener: flags.listener,
    max_connections: flags.listener === "deno" ? undefined : flags.maxConnections,
  });
  const stopReloading = reloader.listen(flags.reloadInterval);

  try {
    const { signal } = await new Promise<InterruptedError>((resolve) => {
      if (interrupt.signal.aborted) return resolve(interrupt.signal.reason);
      interrupt.signal.addEventListener("abort", () => resolve(interrupt.signal.reason), { once: true });
    });
    readiness.ready = false;
    // Ctrl-C at a terminal: no load balancer to warn, and a person waiting.
    const drainDelay = signal === "SIGINT" && pressedAtTerminal() ? 0 : flags.drainDelay;
    log.info("draining", { signal, drain_delay_s: drainDelay, shutdown_timeout_s: flags.shutdownTimeout });
    const started = performance.now();
    // Still serving, but not ready: whoever routes traffic here has time to notice and stop.
    if (drainDelay > 0) await new Promise((r) => setTimeout(r, drainDelay * 1000));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<boolean>((r) => timer = setTimeout(() => r(true), flags.shutdownTimeout * 1000));
    // shutdown() closes the listeners at once and resolves when in-flight requests and calls are answered.
    const late = await Promise.race([listeners.shutdown().then(() => false), timedOut]);
    clearTimeout(timer);
    if (late) {
      grpc?.close();
      log.warn("shutdown timeout reached with requests still in flight", { shutdown_timeout_s: flags.shutdownTimeout });
    }
    if (accessLog) accessLog.flush();
    log.info("stopped", { signal, drain_ms: Math.round(performance.now() - started) });
    return late;
  } finally {
    interrupt.dispose();
    watch?.stop();
    await stopReloading();
  }
}

/** The listeners of one data plane: HTTP always, gRPC with `--grpc-port`. */
interface Listeners {
  http: HttpListener;
  grpc?: GrpcListener;
  /** Refuses new requests on both at once; resolves when those in flight are answered. */
  shutdown(): Promise<void>;
}

/** Opens every listener over the data plane and its envelope (the one place serve starts listening). */
async function startListeners(
  plane: DataPlane,
  envelope: RequestEnvelope,
  flags: ServeFlags,
  reusePort: boolean,
): Promise<Listeners> {
  const apiKey = flags.apiKey || undefined;
  const { createApp } = await lazyImport<typeof CreateApp>(new URL("../http/create_app.ts", import.meta.url));
  const app = createApp(plane, {
    apiKey,
    maxBodyBytes: flags.maxBodyBytes,
    maxBodyBytesName: "--max-body-bytes",
    envelope,
  });
  const inUse = (err: unknown, port: number, flag: string) => {
    if ((err as { code?: string }).code === "EADDRINUSE") {
      return new UsageError(`Port ${port} on ${flags.host} is already in use (${flag})`);
    }
    return err;
  };
  let http: HttpListener;
  try {
    const guards = {
      hostname: flags.host,
      port: flags.port,
      headersTimeoutMs: flags.headersTimeout * 1000,
      bodyTimeoutMs: flags.bodyTimeout * 1000,
      keepAliveTimeoutMs: flags.keepAliveTimeout * 1000,
      maxConnections: flags.maxConnections,
      reusePort,
    };
    // Only the listener in use loads (node:http's brings @hono/node-server).
    http = flags.listener === "deno"
      ? await (await lazyImport<typeof ListenDeno>(new URL("../http/listen_deno.ts", import.meta.url))).listenDeno(
        app.fetch,
        { hostname: flags.host, port: flags.port, reusePort },
      )
      : flags.listener === "node"
      ? await (await lazyImport<typeof Listen>(new URL("../http/listen.ts", import.meta.url))).listen(app.fetch, guards)
      : await (await lazyImport<typeof ListenGuarded>(new URL("../http/listen_guarded.ts", import.meta.url)))
        .listenGuarded(app.fetch, guards);
  } catch (err) {
    throw inUse(err, flags.port, "--port");
  }
  let grpc: GrpcListener | undefined;
  if (flags.grpcPort !== undefined) {
    try {
      // Loaded only when asked for: grpc-js and the proto cost start-up time nobody else should pay.
      const { inferenceService, listenGrpc } = await lazyImport<typeof Grpc>(
        new URL("../grpc/mod.ts", import.meta.url),
      );
      const service = inferenceService(plane, envelope, { checkKey: apiKey ? bearerToken(apiKey) : undefined });
      grpc = await listenGrpc(service, {
        hostname: flags.host,
        port: flags.grpcPort,
        maxMessageBytes: flags.grpcMaxMessageBytes,
      });
    } catch (err) {
      await http.shutdown();
      throw inUse(err, flags.grpcPort, "--grpc-port");
    }
  }
  return {
    http,
    grpc,
    shutdown: async () => {
      await Promise.all([http.shutdown(), grpc?.shutdown()]);
    },
  };
}

/** The node:http listener's connection counters on /metrics. */
function addConnectionMetrics(metrics: Metrics, stats: ConnectionStats): void {
  metrics.addGauge({
    name: "score_http_connections",
    help: "Open HTTP connections.",
    read: () => [{ value: stats.open }],
  });
  metrics.addCounter({
    name: "score_http_connections_refused_total",
    help: "Connections closed at once because --max-connections were open.",
    read: () => [{ value: stats.refused }],
  });
  metrics.addCounter({
    name: "score_http_timeouts_total",
    help: "Connections closed because request headers or a body did not arrive in time.",
    read: () => [{ value: stats.timedOut }],
  });
}
