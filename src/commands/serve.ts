/**
 * `score serve`: the composition root of the web service. It reads flags,
 * loads the models, opens the prediction log, builds the HTTP app (and,
 * with `--grpc-port`, the gRPC service over the same data plane), listens
 * (`--listener guarded`, the default, src/http/listen_guarded.ts: Deno's HTTP
 * server with timeouts and a connection cap; `--listener node`,
 * src/http/listen.ts: node:http with the same; or `--listener deno`,
 * src/http/listen_deno.ts: bare Deno.serve, for behind a proxy), in
 * `--workers` threads (src/commands/serve_workers.ts) or this one,
 * and on SIGTERM/SIGINT drains: readiness turns false
 * while requests are still served for `--drain-delay` (so a load balancer
 * or Kubernetes sees it and stops routing), then the listener closes,
 * in-flight requests and calls finish (up to `--shutdown-timeout`), the prediction
 * log is flushed, exit 0.
 */
import { Command, type Command as CommandType } from "commander";
import { addOptions, envOption } from "../cli/env_option.ts";
import {
  list,
  loadOptions,
  modelOption,
  modelPath,
  type OnlineFlags,
  onlineOptions,
  portNumber,
  storeOptions,
  wholeNumber,
  workersOption,
} from "../cli/options.ts";
import { workerCount, type WorkersFlag } from "../cli/worker_count.ts";
import { listenForInterrupt, pressedAtTerminal } from "../cli/interrupt.ts";
import { InterruptedError, UsageError } from "../errors.ts";
import type * as AccessLogModule from "../serving/access_log.ts";
import type * as CreateApp from "../http/create_app.ts";
import type { ConnectionStats, HttpListener } from "../http/listen.ts";
import type * as Listen from "../http/listen.ts";
import type * as ListenDeno from "../http/listen_deno.ts";
import type * as ListenGuarded from "../http/listen_guarded.ts";
import type * as ServeWorkers from "./serve_workers.ts";
// The file, not listen.ts: the flag table shows the default without loading the listener.
import { defaultMaxConnections } from "../http/max_connections.ts";
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
import { type ServiceMonitorFlags, serviceMonitorOptions } from "./monitor_plan.ts";

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
 * The `serve` command.
 *
 * @example
 * ```sh
 * score serve --model models/ride-duration-linreg --model models/churn --port 9696
 * ```
 */
export function serveCommand(): Command {
  const cmd = new Command("serve").description(
    "Serve models over HTTP: the course's POST /predict, and the Open Inference Protocol v2 (KServe, Triton clients), " +
      "also over gRPC with --grpc-port.",
  );
  addOptions(cmd, [
    modelOption().argParser(models),
    envOption("--host <host>", "address to listen on (0.0.0.0 in a container)", {
      env: "SCORE_HOST",
      default: "127.0.0.1",
    }),
    envOption("--port <port>", "port to listen on (0: any free port, logged)", {
      env: "SCORE_PORT",
      parse: portNumber,
      default: 9696,
    }),
    envOption(
      "--grpc-port <port>",
      "also serve the Open Inference Protocol over gRPC (inference.GRPCInferenceService) on this port, on the same " +
        "models and batchers (0: any free port, logged); off unless given, so that no second port opens unasked " +
        "(KServe's runtime contract uses 8081)",
      { env: "SCORE_GRPC_PORT", parse: portNumber },
    ),
    envOption(
      "--grpc-max-message-bytes <bytes>",
      "largest gRPC request message; past it RESOURCE_EXHAUSTED (gRPC's usual 4 MiB)",
      { env: "SCORE_GRPC_MAX_MESSAGE_BYTES", parse: wholeNumber(1), default: 4 * 1_048_576 },
    ),
    envOption("--max-queue <rows>", "most rows waiting per model; past it requests get 503 with Retry-After", {
      env: "SCORE_MAX_QUEUE",
      parse: wholeNumber(1),
      default: 10_000,
    }),
    envOption("--max-body-bytes <bytes>", "largest request body; past it 413", {
      env: "SCORE_MAX_BODY_BYTES",
      parse: wholeNumber(1),
      default: 1_048_576,
    }),
    envOption("--api-key <key>", "require Authorization: Bearer <key> on every route but /v2/health/*", {
      env: "SCORE_API_KEY",
    }),
    envOption("--shutdown-timeout <seconds>", "on SIGTERM/SIGINT, how long in-flight requests may finish", {
      env: "SCORE_SHUTDOWN_TIMEOUT",
      parse: wholeNumber(0),
      default: 30,
    }),
    envOption(
      "--drain-delay <seconds>",
      "on SIGTERM/SIGINT, how long to keep serving while readiness answers not-ready, before closing the listener " +
        "(none for Ctrl-C at a terminal)",
      { env: "SCORE_DRAIN_DELAY", parse: wholeNumber(0), default: 5 },
    ),
    envOption(
      "--log-predictions <url>",
      "also write every prediction to postgres://user@host:port/database/table, in the background",
      { env: "SCORE_LOG_PREDICTIONS" },
    ),
    envOption(
      "--log-predictions-buffer <rows>",
      "predictions held for the log before new ones are dropped (counted in /metrics)",
      { env: "SCORE_LOG_PREDICTIONS_BUFFER", parse: wholeNumber(1), default: 100_000 },
    ),
    envOption(
      "--listener <listener>",
      "guarded: Deno's HTTP server on connections it accepts itself, with the timeouts and connection cap below; " +
        "node: node:http with the same, ~1/2 the throughput, one worker only; deno: bare Deno.serve, none of them (the four flags " +
        "below are then refused), only behind a proxy that times out slow clients and caps connections",
      { env: "SCORE_LISTENER", choices: ["guarded", "node", "deno"], default: "guarded" },
    ),
    envOption("--headers-timeout <seconds>", "close a connection whose request headers do not arrive in time", {
      env: "SCORE_HEADERS_TIMEOUT",
      parse: wholeNumber(1),
      default: 30,
    }),
    envOption("--body-timeout <seconds>", "close a request whose body does not arrive in time after its headers", {
      env: "SCORE_BODY_TIMEOUT",
      parse: wholeNumber(1),
      default: 60,
    }),
    envOption("--keep-alive-timeout <seconds>", "close a keep-alive connection idle this long", {
      env: "SCORE_KEEP_ALIVE_TIMEOUT",
      parse: wholeNumber(1),
      default: 5,
    }),
    envOption(
      "--max-connections <n>",
      "most open connections; past it new ones are closed at once (default: half the open-files limit)",
      { env: "SCORE_MAX_CONNECTIONS", parse: wholeNumber(1), default: defaultMaxConnections() },
    ),
    workersOption(
      "threads that each load the models and serve on the one port; /metrics sums them; --grpc-port is served " +
        "by the first; 1 serves in this thread",
    ),
    envOption("--no-access-log", "no JSON log line per request", { env: "SCORE_NO_ACCESS_LOG" }),
    ...onlineOptions({ unit: "rows", delayMs: 0 }),
    ...serviceMonitorOptions(),
  ]);
  return cmd.action(run);
}

/** Opens the models and the prediction log, serves until a signal, closes them. */
async function run(given: Omit<ServeFlags, "workers"> & { workers: WorkersFlag }, command: CommandType): Promise<void> {
  if (given.listener === "deno") refuseNodeOnly(command);
  const count = workerCount(given.workers, {
    source: command.getOptionValueSource("workers"),
    threads: given.threads,
    oneOnly: oneWorkerOnly(given.listener),
  });
  log.info("workers", { ...count });
  const flags: ServeFlags = { ...given, workers: count.workers };
  // One worker serves in this thread: no worker thread, no summing of metrics.
  const late = flags.workers > 1
    ? await (await lazyImport<typeof ServeWorkers>(new URL("./serve_workers.ts", import.meta.url))).serveWorkers(flags)
    : await runServe(flags);
  // Requests still running past --shutdown-timeout would keep the process alive.
  if (late) Deno.exit(0);
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
      const { model, resolved } = await openModel(uri, storeOptions(flags), loadOptions(flags));
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

/** The flags the guarded and node:http listeners honour, and bare Deno.serve cannot. */
const NODE_ONLY = ["headersTimeout", "bodyTimeout", "keepAliveTimeout", "maxConnections"];

/** With `--listener deno`, a node-only flag given (or its variable set) would silently do nothing: refused. */
function refuseNodeOnly(command: CommandType): void {
  for (const name of NODE_ONLY) {
    const source = command.getOptionValueSource(name);
    if (source !== "cli" && source !== "env") continue;
    const option = command.options.find((o) => o.attributeName() === name)!;
    const given = source === "env" ? `${option.envVar} (${option.long})` : option.long;
    throw new UsageError(
      `${given} applies to --listener guarded or node only: bare Deno.serve has no such setting (put it in the reverse proxy)`,
    );
  }
}

/**
 * Why `listener` cannot serve from several workers in this process, if it cannot (then `auto` is 1, and more is
 * refused). Workers share the port with SO_REUSEPORT, which the kernel spreads connections over:
 * - node:http's listener watches itself by connecting to the port (listener_watchdog.ts), and a probe another worker's
 *   listener takes looks like its own listener stopped accepting: it would reopen a working listener again and again,
 *   resetting the connections waiting on it (measured: 18 of 26k requests failed with two workers);
 * - Deno's listener (the guarded one's and `Deno.serve`) shares a port only under `--unstable-net`, which the ./score
 *   launcher, the image and the compiled executable turn on (deno.json); without it, it ends the process.
 *   `Deno.listenDatagram` exists exactly when that flag is on.
 */
function oneWorkerOnly(listener: ServeFlags["listener"]): string | undefined {
  if (listener === "node") {
    return "--listener node checks its listener by connecting to the port, which another worker's would answer";
  }
  if (typeof (Deno as Record<string, unknown>).listenDatagram === "function") return undefined;
  return `--listener ${listener} shares its port among workers only under Deno's --unstable-net`;
}

/** `--model` is repeatable, and its variable may list several models: `SCORE_MODEL=a,b`. */
function models(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...list(value).map(modelPath)];
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
    store: storeOptions(flags),
    load: loadOptions(flags),
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
