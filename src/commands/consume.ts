/**
 * `score consume`: the command, its flags and how many workers consume. The
 * consumer itself (the model in a data plane, the pure message handler, the
 * amqplib loop, the metrics endpoint) is `runConsume`
 * (src/commands/run_consume.ts), run in this thread or in each of
 * `--workers` threads (src/commands/consume_workers.ts).
 */
import { Command, type Parsed } from "../cli/command.ts";
import { envOption } from "../cli/env_option.ts";
import {
  amqpUrlOption,
  exchangeOption,
  modelOption,
  onlineOptions,
  portNumber,
  wholeNumber,
  workersOption,
} from "../cli/options.ts";
import { onThisMachine, workerCount, type WorkersFlag } from "../cli/worker_count.ts";
import { UsageError } from "../errors.ts";
import { log } from "../log.ts";
import { lazyImport } from "../lazy_import.ts";
import type * as ConsumeWorkers from "./consume_workers.ts";
import { serviceMonitorOptions } from "./monitor_plan.ts";
import { type ConsumeFlags, runConsume } from "./run_consume.ts";

/**
 * The `consume` command.
 *
 * @example
 * ```sh
 * score consume --model models/ride-duration-rf --exchange rides --prediction-exchange predictions \
 *   --rename duration=ride_duration
 * ```
 */
export function consumeCommand(): Command {
  const cmd = new Command("consume", {
    description: "Score the events of a RabbitMQ exchange and publish the predictions: one queue per model, " +
      "acked only after the broker confirmed the prediction.",
  });
  cmd.addOptions([
    modelOption(),
    amqpUrlOption(),
    exchangeOption(),
    envOption(
      "--prediction-exchange <name>",
      "where predictions go (durable topic, declared if missing); not needed with --dry-run",
      { env: "SCORE_PREDICTION_EXCHANGE" },
    ),
    envOption(
      "--prediction-queue <name>",
      "the durable queue declared and bound to the prediction exchange with the routing key, where the " +
        "predictions wait for a reader (a decision service's inbox) (default: <prediction exchange>.<model name>)",
      { env: "SCORE_PREDICTION_QUEUE" },
    ),
    envOption(
      "--no-prediction-queue",
      'declare none (or SCORE_PREDICTION_QUEUE=""): bind your own queue for the routing key before events arrive, ' +
        "or their predictions are returned and the events dead-lettered as unroutable",
    ),
    envOption("--queue <name>", "the model's queue, shared by its workers (default: <model name>.<exchange>)", {
      env: "SCORE_QUEUE",
    }),
    envOption("--binding-key <pattern>", "binds the queue to the events exchange", {
      env: "SCORE_BINDING_KEY",
      default: "#",
    }),
    envOption("--routing-key <key>", "routing key of the predictions (default: the model name)", {
      env: "SCORE_ROUTING_KEY",
    }),
    envOption("--features-path <path>", 'dot path of the features in the event; "" for the whole body', {
      env: "SCORE_FEATURES_PATH",
      default: "ride",
    }),
    envOption("--no-features-path", "the whole body is the features"),
    envOption("--id-path <path>", 'dot path of the event id, copied into the prediction; "" for none', {
      env: "SCORE_ID_PATH",
      default: "ride_id",
    }),
    envOption("--no-id-path", "events carry no id"),
    envOption("--dead-letter-exchange <name>", "where poison events go (default: <exchange>.dead-letter)", {
      env: "SCORE_DEAD_LETTER_EXCHANGE",
    }),
    envOption("--dead-letter-queue <name>", "the model's dead-letter queue (default: <queue>.dead-letter)", {
      env: "SCORE_DEAD_LETTER_QUEUE",
    }),
    // 1024 in flight, 512 a model run: the best throughput measured (docs/consume.md), single-event latency unchanged.
    envOption("--prefetch <n>", "unacked events in flight (AMQP's limit: 65535)", {
      env: "SCORE_PREFETCH",
      // AMQP's basic.qos takes a 16-bit count: a larger one is refused by the client at every connection.
      parse: wholeNumber(1, 65_535),
      default: 1024,
    }),
    envOption("--metrics-port <port>", "serve /metrics and /health on this port", {
      env: "SCORE_METRICS_PORT",
      parse: portNumber,
    }),
    envOption("--host <host>", "address the metrics server listens on, as for score serve (0.0.0.0 in a container)", {
      env: "SCORE_HOST",
      default: "127.0.0.1",
    }),
    envOption("--max-reconnect-delay-ms <ms>", "longest wait between reconnect attempts", {
      env: "SCORE_MAX_RECONNECT_DELAY_MS",
      parse: wholeNumber(1),
      default: 30_000,
    }),
    envOption(
      "--connection-name <name>",
      "how the broker names this worker's connection (rabbitmqctl list_connections, the management UI) " +
        '(default: "score consume <model name> <queue>")',
      { env: "SCORE_CONNECTION_NAME" },
    ),
    envOption(
      "--dry-run",
      "print the predictions on stdout, publish nothing (a temporary queue unless --queue)",
      { env: "SCORE_DRY_RUN" },
    ),
    workersOption(
      "consumers of the one queue, each a thread with its own model, connection, channel and --prefetch; /metrics " +
        "sums them; 1 consumes in this thread, and is what auto gives --dry-run; auto leaves a CPU to a broker on " +
        "this machine (--amqp-url on localhost or 127.x.x.x)",
    ),
    ...onlineOptions({ unit: "events", delayMs: 2, maxBatch: 512 }),
    ...serviceMonitorOptions(),
  ]);
  return cmd.action(consume);
}

/** Consumes until a signal, then finishes the events in flight. */
async function consume(
  given: Omit<ConsumeFlags, "workers"> & { workers: WorkersFlag },
  parsed: Parsed,
): Promise<void> {
  if (!given.dryRun && !given.predictionExchange) {
    throw new UsageError("--prediction-exchange (or SCORE_PREDICTION_EXCHANGE) is required unless --dry-run");
  }
  if (given.dryRun && given.predictionQueue) {
    throw new UsageError("--prediction-queue has nothing to receive in a dry run (predictions go to stdout)");
  }
  // What goes back to the events exchange comes back as an event: a dead letter would be dead-lettered again, for
  // ever, and a prediction scored as an event.
  for (
    const [flag, name] of [["--dead-letter-exchange", given.deadLetterExchange], [
      "--prediction-exchange",
      given.predictionExchange,
    ]]
  ) {
    if (name !== undefined && name === given.exchange) {
      throw new UsageError(
        `${flag} names the events exchange (--exchange ${name}): what it receives would come back as events`,
      );
    }
  }
  const count = workerCount(given.workers, {
    source: parsed.source("workers"),
    threads: given.threads,
    oneOnly: given.dryRun ? "--dry-run watches with one consumer" : undefined,
    sharesCpuWith: onThisMachine(given.amqpUrl) ? "the broker on this machine" : undefined,
  });
  log.info("workers", { ...count });
  const flags: ConsumeFlags = { ...given, workers: count.workers };
  // One worker consumes in this thread: no worker thread, no summing of metrics.
  if (flags.workers > 1) {
    const { consumeWorkers } = await lazyImport<typeof ConsumeWorkers>(
      new URL("./consume_workers.ts", import.meta.url),
    );
    return await consumeWorkers(flags);
  }
  await runConsume(flags);
}
