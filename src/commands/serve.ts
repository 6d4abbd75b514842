/**
 * `score serve`: the command, its flags and how many workers serve. The
 * service itself (models, prediction log, HTTP app, gRPC, listener, drain)
 * is `runServe` (src/commands/run_serve.ts), run in this thread or in each of
 * `--workers` threads (src/commands/serve_workers.ts).
 */
import { Command, type Parsed } from "../cli/command.ts";
import { envOption } from "../cli/env_option.ts";
import { list, modelOption, modelPath, onlineOptions, portNumber, wholeNumber, workersOption } from "../cli/options.ts";
import { workerCount, type WorkersFlag } from "../cli/worker_count.ts";
import { InvalidArgumentError, UsageError } from "../errors.ts";
import type * as ServeWorkers from "./serve_workers.ts";
// The file, not listen.ts: the flag table shows the default without loading the listener.
import { defaultMaxConnections } from "../http/max_connections.ts";
import { lazyImport } from "../lazy_import.ts";
import { log } from "../log.ts";
import { serviceMonitorOptions } from "./monitor_plan.ts";
import type { ServeFlags } from "./run_serve.ts";
import type * as RunServe from "./run_serve.ts";

/**
 * The `serve` command.
 *
 * @example
 * ```sh
 * score serve --model models/ride-duration-linreg --model models/churn --port 9696
 * ```
 */
export function serveCommand(): Command {
  const cmd = new Command("serve", {
    description: "Serve models over HTTP: the course's POST /predict, and the Open Inference Protocol v2 (KServe, " +
      "Triton clients), also over gRPC with --grpc-port.",
  });
  cmd.addOptions([
    { ...modelOption(), parse: models },
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
      parse: apiKey,
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
async function run(given: Omit<ServeFlags, "workers"> & { workers: WorkersFlag }, parsed: Parsed): Promise<void> {
  if (given.listener === "deno") refuseNodeOnly(parsed);
  const count = workerCount(given.workers, {
    source: parsed.source("workers"),
    threads: given.threads,
    oneOnly: oneWorkerOnly(given.listener),
  });
  log.info("workers", { ...count });
  const flags: ServeFlags = { ...given, workers: count.workers };
  // One worker serves in this thread: no worker thread, no summing of metrics.
  const late = flags.workers > 1
    ? await (await lazyImport<typeof ServeWorkers>(new URL("./serve_workers.ts", import.meta.url))).serveWorkers(flags)
    : await (await lazyImport<typeof RunServe>(new URL("./run_serve.ts", import.meta.url))).runServe(flags);
  // Requests still running past --shutdown-timeout would keep the process alive.
  if (late) Deno.exit(0);
}

/** The flags the guarded and node:http listeners honour, and bare Deno.serve cannot. */
const NODE_ONLY = ["headersTimeout", "bodyTimeout", "keepAliveTimeout", "maxConnections"];

/** With `--listener deno`, a node-only flag given (or its variable set) would silently do nothing: refused. */
function refuseNodeOnly(parsed: Parsed): void {
  for (const name of NODE_ONLY) {
    const source = parsed.source(name);
    if (source !== "cli" && source !== "env") continue;
    const option = parsed.option(name)!;
    const given = source === "env" ? `${option.env} (${option.long})` : option.long;
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

/** An API key: an empty one (`--api-key "$KEY"` with KEY unset) would have left every route open without a word. */
function apiKey(value: string): string {
  if (value.trim() === "") {
    throw new InvalidArgumentError("an empty key would require none: give the key, or leave --api-key out.");
  }
  return value;
}
