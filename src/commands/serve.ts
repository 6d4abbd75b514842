/**
 * `score serve`: the composition root of the web service. It reads flags,
 * loads the models, opens the prediction log, builds the HTTP app, listens
 * (`--listener node`, src/http/listen.ts: timeouts and a connection cap; or
 * `--listener deno`, src/http/listen_deno.ts: faster, for behind a proxy),
 * and on SIGTERM/SIGINT drains: readiness turns false
 * while requests are still served for `--drain-delay` (so a load balancer
 * or Kubernetes sees it and stops routing), then the listener closes,
 * in-flight requests finish (up to `--shutdown-timeout`), the prediction
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
} from "../cli/options.ts";
import { listenForInterrupt, pressedAtTerminal } from "../cli/interrupt.ts";
import { InterruptedError, UsageError } from "../errors.ts";
import type * as AccessLogModule from "../http/access_log.ts";
import type * as CreateApp from "../http/create_app.ts";
import type { ConnectionStats, HttpListener } from "../http/listen.ts";
import type * as Listen from "../http/listen.ts";
import type * as ListenDeno from "../http/listen_deno.ts";
// The file, not listen.ts: the flag table shows the default without loading the listener.
import { defaultMaxConnections } from "../http/max_connections.ts";
import type { Metrics } from "../http/metrics.ts";
import type * as MetricsModule from "../http/metrics.ts";
import { lazyImport } from "../lazy_import.ts";
import { log, redact } from "../log.ts";
import type * as DataPlaneModule from "../serving/data_plane.ts";
import type { OpenedModel } from "../store/mod.ts";
import type * as Store from "../store/mod.ts";
import type { PredictionLog } from "../serving/prediction_log.ts";
import type * as PredictionLogModule from "../serving/prediction_log.ts";
import type * as DriftWatch from "../serving/drift_watch.ts";
import { VERSION } from "../version.ts";
import type * as BatchMonitor from "./batch_monitor.ts";
import { type ServiceMonitorFlags, serviceMonitorOptions } from "./monitor_plan.ts";

interface ServeFlags extends OnlineFlags, ServiceMonitorFlags {
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
  listener: "node" | "deno";
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
    "Serve models over HTTP: the course's POST /predict, and the Open Inference Protocol v2 (KServe, Triton clients).",
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
      "node: node:http with the timeouts and connection cap below; deno: Deno.serve, ~1.5x the throughput but " +
        "none of them (the four flags below are then refused), only behind a proxy that times out slow clients " +
        "and caps connections",
      { env: "SCORE_LISTENER", choices: ["node", "deno"], default: "node" },
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
    envOption("--no-access-log", "no JSON log line per request", { env: "SCORE_NO_ACCESS_LOG" }),
    ...onlineOptions({ unit: "rows", delayMs: 0 }),
    ...serviceMonitorOptions(),
  ]);
  return cmd.action(run);
}

/** Opens the models and the prediction log, serves until a signal, closes them. */
async function run(flags: ServeFlags, command: CommandType): Promise<void> {
  if (flags.listener === "deno") refuseNodeOnly(command);
  // The model's, the web app's and the log's code load once the flags are checked: `score serve --help` loads none.
  const { openModel } = await lazyImport<typeof Store>(new URL("../store/mod.ts", import.meta.url));
  const opened: (OpenedModel & { uri: string })[] = [];
  let predictions: PredictionLog | undefined;
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
    late = await serve(opened, predictions, flags);
  } finally {
    await predictions?.close();
    // A reload keeps `opened` up to date: these are the models serving now (a swapped-out one is closed already).
    for (const { model } of opened) await model.close();
  }
  // Requests still running past --shutdown-timeout would keep the process alive.
  if (late) Deno.exit(0);
}

/** The flags only node:http's listener honours. */
const NODE_ONLY = ["headersTimeout", "bodyTimeout", "keepAliveTimeout", "maxConnections"];

/** With `--listener deno`, a node-only flag given (or its variable set) would silently do nothing: refused. */
function refuseNodeOnly(command: CommandType): void {
  for (const name of NODE_ONLY) {
    const source = command.getOptionValueSource(name);
    if (source !== "cli" && source !== "env") continue;
    const option = command.options.find((o) => o.attributeName() === name)!;
    const given = source === "env" ? `${option.envVar} (${option.long})` : option.long;
    throw new UsageError(
      `${given} applies to --listener node only: Deno.serve has no such setting (put it in the reverse proxy)`,
    );
  }
}

/** `--model` is repeatable, and its variable may list several models: `SCORE_MODEL=a,b`. */
function models(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...list(value).map(modelPath)];
}

/** Listens until a signal, then drains; true when the drain timed out. */
async function serve(
  opened: (OpenedModel & { uri: string })[],
  predictions: PredictionLog | undefined,
  flags: ServeFlags,
): Promise<boolean> {
  const [{ Metrics }, { AccessLog }, { DataPlane }, { ModelReloader }, { createApp }] = await Promise.all([
    lazyImport<typeof MetricsModule>(new URL("../http/metrics.ts", import.meta.url)),
    lazyImport<typeof AccessLogModule>(new URL("../http/access_log.ts", import.meta.url)),
    lazyImport<typeof DataPlaneModule>(new URL("../serving/data_plane.ts", import.meta.url)),
    lazyImport<typeof Store>(new URL("../store/mod.ts", import.meta.url)),
    lazyImport<typeof CreateApp>(new URL("../http/create_app.ts", import.meta.url)),
  ]);
  const models = opened.map((o) => o.model);
  const metrics = new Metrics();
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
  let ready = true;
  const accessLog = flags.accessLog ? new AccessLog() : false;
  // The monitor's code loads only with --monitor.
  const watch = flags.monitor === undefined ? undefined : (await lazyImport<typeof DriftWatch>(
    new URL("../serving/drift_watch.ts", import.meta.url),
  )).watchDrift(
    await (await lazyImport<typeof BatchMonitor>(new URL("./batch_monitor.ts", import.meta.url)))
      .loadReference(flags.monitor, models),
    metrics.registry,
    { windowSeconds: flags.monitorWindow, periodSeconds: flags.monitorPeriod },
  );
  const plane = new DataPlane(models, {
    version: VERSION,
    batching: { maxBatchSize: flags.maxBatchSize, maxDelayMs: flags.maxBatchDelayMs, maxQueue: flags.maxQueue },
    predictions,
    isReady: () => ready,
    observe: watch?.observe,
  });
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
  const app = createApp(plane, {
    apiKey: flags.apiKey || undefined,
    maxBodyBytes: flags.maxBodyBytes,
    maxBodyBytesName: "--max-body-bytes",
    metrics,
    accessLog,
  });
  let server: HttpListener;
  try {
    // Only the listener in use loads (node:http's brings @hono/node-server).
    server = flags.listener === "deno"
      ? await (await lazyImport<typeof ListenDeno>(new URL("../http/listen_deno.ts", import.meta.url))).listenDeno(
        app.fetch,
        { hostname: flags.host, port: flags.port },
      )
      : await (await lazyImport<typeof Listen>(new URL("../http/listen.ts", import.meta.url))).listen(app.fetch, {
        hostname: flags.host,
        port: flags.port,
        headersTimeoutMs: flags.headersTimeout * 1000,
        bodyTimeoutMs: flags.bodyTimeout * 1000,
        keepAliveTimeoutMs: flags.keepAliveTimeout * 1000,
        maxConnections: flags.maxConnections,
      });
  } catch (err) {
    watch?.stop();
    if ((err as { code?: string }).code === "EADDRINUSE") {
      throw new UsageError(`Port ${flags.port} on ${flags.host} is already in use (--port)`);
    }
    throw err;
  }
  if (server.stats) addConnectionMetrics(metrics, server.stats);
  metrics.addCounter({
    name: "score_http_accept_errors_total",
    help: "Times the listener could not accept connections (out of file descriptors) and was opened anew.",
    read: () => [{ value: server.acceptErrors() }],
  });
  const hostname = server.hostname;
  // Before "listening": a signal sent as soon as that line shows is a drain, not the default exit.
  const interrupt = listenForInterrupt({ stopping: "readiness off; draining" });
  log.info("listening", {
    url: `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${server.port}`,
    port: server.port,
    models: models.map((m) => `${m.name}@${m.version}`),
    api_key: flags.apiKey ? "required" : "off",
    prediction_log: predictions?.description,
    listener: flags.listener,
    max_connections: flags.listener === "node" ? flags.maxConnections : undefined,
  });
  const stopReloading = reloader.listen(flags.reloadInterval);

  try {
    const { signal } = await new Promise<InterruptedError>((resolve) =>
      interrupt.signal.addEventListener("abort", () => resolve(interrupt.signal.reason), { once: true })
    );
    ready = false;
    // Ctrl-C at a terminal: no load balancer to warn, and a person waiting.
    const drainDelay = signal === "SIGINT" && pressedAtTerminal() ? 0 : flags.drainDelay;
    log.info("draining", { signal, drain_delay_s: drainDelay, shutdown_timeout_s: flags.shutdownTimeout });
    const started = performance.now();
    // Still serving, but not ready: whoever routes traffic here has time to notice and stop.
    if (drainDelay > 0) await new Promise((r) => setTimeout(r, drainDelay * 1000));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<boolean>((r) => timer = setTimeout(() => r(true), flags.shutdownTimeout * 1000));
    // shutdown() closes the listener at once and resolves when in-flight requests are answered.
    const late = await Promise.race([server.shutdown().then(() => false), timedOut]);
    clearTimeout(timer);
    if (late) {
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
