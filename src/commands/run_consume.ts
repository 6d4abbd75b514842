/**
 * The queue consumer in one thread, as `score consume` runs it
 * (src/commands/consume.ts) or each of its `--workers` threads
 * (src/commands/consume_workers.ts): it loads the model into a data plane
 * (the one owner of the model, its batcher and its reloads, as in
 * `score serve`), builds the pure message handler over it and runs the
 * amqplib loop until SIGTERM/SIGINT, with an optional metrics endpoint.
 */
import { loadOptionsOf, type OnlineFlags, resolveOptionsOf } from "../cli/options.ts";
import { listenForInterrupt } from "../cli/interrupt.ts";
import { closedPipe, UsageError } from "../errors.ts";
import { log, redact } from "../log.ts";
import { lazyImport } from "../lazy_import.ts";
import type * as Store from "../store/mod.ts";
import type * as Queue from "../queue/mod.ts";
import type { ConsumerMetrics, MetricsSource } from "../queue/mod.ts";
import type * as MetricsServer from "../queue/metrics_server.ts";
// The file, not queue/mod.ts: naming the queues needs none of the AMQP client's code.
import { defaultTopology, type Topology } from "../queue/topology.ts";
import type * as Plane from "../serving/data_plane.ts";
import { jsonText } from "../value_codec.ts";
import type { DriftWatch } from "../serving/drift_watch.ts";
import type * as DriftWatchModule from "../serving/drift_watch.ts";
import type * as BatchMonitor from "./batch_monitor.ts";
import { type ServiceMonitorFlags } from "./monitor_plan.ts";

export interface ConsumeFlags extends OnlineFlags, ServiceMonitorFlags {
  model: string;
  amqpUrl: string;
  exchange: string;
  predictionExchange?: string;
  /** A name, the default's (undefined), or none (false, or "" from the variable). */
  predictionQueue?: string | false;
  queue?: string;
  bindingKey: string;
  routingKey?: string;
  featuresPath: string | false;
  idPath: string | false;
  deadLetterExchange?: string;
  deadLetterQueue?: string;
  prefetch: number;
  metricsPort?: number;
  host: string;
  maxReconnectDelayMs: number;
  connectionName?: string;
  dryRun?: boolean;
  workers: number;
}

/** How a worker thread of `--workers` runs the consumer (src/commands/consume_workers.ts). */
export interface ConsumeWorkerHooks {
  /** Given the worker's metrics, which the main thread sums on /metrics. */
  metrics(metrics: ConsumerMetrics): void;
  /** Aborted (with an `InterruptedError`) when the main thread gets SIGTERM/SIGINT: then this worker drains. */
  stop: AbortSignal;
  /** The worker's number, logged and in its connection's name. */
  index: number;
}

/**
 * The consumer in this thread, until a signal (or `hooks.stop`), then the events in flight finished. A worker of
 * `--workers` runs it with `hooks`: no metrics server of its own and no signal listener (the main thread has both).
 */
export async function runConsume(flags: ConsumeFlags, hooks?: ConsumeWorkerHooks): Promise<void> {
  // The model's, the AMQP client's and the metrics' code load once the flags are checked, not for `--help`.
  const [
    { ModelReloader, openModel },
    { ConsumerMetrics, MessageHandler, runConsumerLoop },
    { DataPlane },
  ] = await Promise.all([
    lazyImport<typeof Store>(new URL("../store/mod.ts", import.meta.url)),
    lazyImport<typeof Queue>(new URL("../queue/mod.ts", import.meta.url)),
    lazyImport<typeof Plane>(new URL("../serving/data_plane.ts", import.meta.url)),
  ]);
  const opened = { uri: flags.model, ...await openModel(flags.model, resolveOptionsOf(flags), loadOptionsOf(flags)) };
  const model = opened.model;
  const metrics = new ConsumerMetrics(model.name);
  metrics.version = model.version;
  metrics.current = model;
  hooks?.metrics(metrics);
  const server = flags.metricsPort === undefined || hooks
    ? undefined
    : await metricsServer(metrics, flags.metricsPort, flags.host);
  const stop = hooks
    ? { signal: hooks.stop, dispose() {} }
    : listenForInterrupt({ stopping: "stopping after the events in flight" });
  let stopReloading = async () => {};
  const plane = new DataPlane([model], {
    batching: {
      maxBatchSize: flags.maxBatchSize,
      maxDelayMs: flags.maxBatchDelayMs,
      // Never refuse what the broker may hand us at once: prefetch bounds the queue.
      maxQueue: Math.max(10_000, 2 * flags.prefetch),
    },
  });
  plane.onBatch((_, rows) => metrics.batchSize.observe(rows));
  let watch: DriftWatch | undefined;
  try {
    if (flags.monitor !== undefined) {
      if (flags.metricsPort === undefined && !hooks) {
        log.warn("--monitor without --metrics-port: the drift is computed but not served");
      }
      // The monitor's code loads only with --monitor.
      const [{ watchDrift }, { loadReference }] = await Promise.all([
        lazyImport<typeof DriftWatchModule>(new URL("../serving/drift_watch.ts", import.meta.url)),
        lazyImport<typeof BatchMonitor>(new URL("./batch_monitor.ts", import.meta.url)),
      ]);
      watch = watchDrift(await loadReference(flags.monitor, model), metrics.registry, {
        windowSeconds: flags.monitorWindow,
        periodSeconds: flags.monitorPeriod,
      });
    }
    /**
     * What the handler scores with, asked per event: the plane's `served` (a reload swaps the model there, events
     * already scoring finish on theirs); its predictions also go to the drift watch, if any.
     */
    const served = () => {
      const entry = plane.served(model.name);
      const w = watch;
      if (w === undefined) return entry;
      return {
        model: entry.model,
        batcher: {
          predict: async (columns: Record<string, ArrayLike<unknown>>, length: number) => {
            const prediction = await entry.batcher.predict(columns, length);
            w.observe(entry.model, columns, length, prediction);
            return prediction;
          },
        },
      };
    };
    const topology = consumerTopology(flags, model.name);
    const handler = new MessageHandler({
      served,
      featuresPath: flags.featuresPath || "",
      idPath: flags.idPath || "",
      predictionExchange: topology.predictionExchange ?? "",
      routingKey: topology.predictionRoutingKey ?? model.name,
      deadLetterExchange: topology.deadLetterExchange ?? "",
      deadLetterRoutingKey: topology.queue,
    });
    // The queue tells apart consumers of one model on different exchanges; --connection-name, its workers.
    const connectionName = (flags.connectionName ??
      `score consume ${model.name} ${topology.temporaryQueue ? "(temporary)" : topology.queue}`) +
      (hooks ? ` (worker ${hooks.index})` : "");
    log.info("consumer starting", {
      worker: hooks?.index,
      model: model.name,
      connection_name: connectionName,
      version: model.version,
      url: redact(flags.amqpUrl),
      queue: topology.temporaryQueue ? "(temporary)" : topology.queue,
      prediction_exchange: topology.predictionExchange,
      prediction_queue: topology.predictionQueue,
      dead_letter_queue: topology.deadLetterQueue,
      outputs: model.outputColumns.map((c) => c.name),
    });
    if (model.name === GENERIC_NAME && flags.queue === undefined && !topology.temporaryQueue && !hooks?.index) {
      // MLflow saves every model as `.../artifacts/model`: two of them on one exchange would share this queue, each
      // scoring half of the events, and their predictions would carry one name.
      log.warn(
        `the model is named "${GENERIC_NAME}" after its folder: another model named so on this exchange would share ` +
          `its queue (${topology.queue}) and its events; name it (--model <path>#name=<name>) or give --queue`,
      );
    }
    if (topology.predictionExchange && !topology.predictionQueue) {
      log.warn(
        `no prediction queue: bind a queue to ${topology.predictionExchange} for routing key ` +
          `${topology.predictionRoutingKey} before events arrive, or their events are dead-lettered as unroutable`,
      );
    }
    const reloader = new ModelReloader([opened], {
      store: resolveOptionsOf(flags),
      load: loadOptionsOf(flags),
      swap: async (next) => {
        // Events from now on go to the new version; those already queued finish on the old one.
        const retired = plane.swap(next);
        metrics.version = next.version;
        metrics.current = next;
        await retired;
      },
    });
    stopReloading = reloader.listen(flags.reloadInterval);
    const out = new TextEncoder();
    const outClosed = new AbortController();
    let lastUncorrelated = 0;
    await runConsumerLoop({
      url: flags.amqpUrl,
      topology,
      prefetch: flags.prefetch,
      handle: async (event) => {
        const verdict = await handler.handle(event);
        if (verdict.action === "publish" && verdict.uncorrelated) {
          metrics.uncorrelated++;
          const now = Date.now();
          if (now - lastUncorrelated > 60_000) {
            lastUncorrelated = now;
            log.warn("an event has no id: its prediction cannot be tied to it (counted)", {
              id_path: flags.idPath,
              message_id: event.properties.messageId,
              metric: "score_consumer_predictions_uncorrelated_total",
            });
          }
        }
        return verdict;
      },
      publishFailed: (event, failure) => handler.publishFailed(event, failure),
      dryRun: flags.dryRun,
      onDryRun: (verdict) => {
        if (verdict.action !== "publish") return;
        try {
          Deno.stdout.writeSync(out.encode(jsonText(verdict.record) + "\n"));
        } catch (err) {
          // `score consume --dry-run | head`: the reader has what it wanted; a normal end, as for batch. The event
          // goes back to the queue (the loop requeues what throws).
          if (closedPipe(err) && !outClosed.signal.aborted) {
            log.info("standard output closed by its reader: stopping");
            outClosed.abort();
          }
          throw err;
        }
      },
      metrics,
      signal: AbortSignal.any([stop.signal, outClosed.signal]),
      reconnect: { maxDelayMs: flags.maxReconnectDelayMs },
      connectionName,
      exchangeFlags: {
        "--exchange": topology.exchange,
        "--prediction-exchange": topology.predictionExchange,
        "--dead-letter-exchange": topology.deadLetterExchange,
      },
    });
    await stopReloading();
    await plane.drain();
    log.info("consumer stopped", { worker: hooks?.index, model: model.name, ...totals(metrics) });
  } finally {
    stop.dispose();
    watch?.stop();
    await stopReloading();
    await server?.shutdown();
    await plane.close();
  }
}

/**
 * The metrics server on --metrics-port; a port in use is named, with its flag. Its code (Hono's) loads only for a
 * consumer that serves metrics.
 */
export async function metricsServer(metrics: MetricsSource, port: number, hostname: string): Promise<Deno.HttpServer> {
  const { serveMetrics } = await lazyImport<typeof MetricsServer>(
    new URL("../queue/metrics_server.ts", import.meta.url),
  );
  try {
    return serveMetrics(metrics, { port, hostname });
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) {
      throw new UsageError(`Port ${port} on ${hostname} is already in use (--metrics-port)`, { cause: err });
    }
    throw err;
  }
}

/** The queues and exchanges the flags name; a dry run's watch a copy of the events and dead-letter nothing. */
function consumerTopology(flags: ConsumeFlags, model: string): Topology {
  const topology = defaultTopology({
    model,
    exchange: flags.exchange,
    predictionExchange: flags.dryRun ? undefined : flags.predictionExchange,
    // Kept by default, so no prediction is lost only because its reader has not bound a queue yet.
    predictionQueue: flags.predictionQueue === undefined
      ? `${flags.predictionExchange}.${model}`
      : flags.predictionQueue || undefined,
    predictionRoutingKey: flags.routingKey,
    queue: flags.queue,
    bindingKey: flags.bindingKey,
    deadLetterExchange: flags.deadLetterExchange,
    deadLetterQueue: flags.deadLetterQueue,
  });
  if (flags.dryRun) {
    // A dry run watches a copy of the events: it must not take them from the model's real workers.
    topology.temporaryQueue = flags.queue === undefined;
    topology.deadLetterExchange = topology.deadLetterQueue = topology.predictionQueue = undefined;
  }
  return topology;
}

/** The name a model gets from an MLflow artifact folder (`artifacts/model`), or from a bare `model.onnx`. */
const GENERIC_NAME = "model";

/** The counts the last log line reports. */
function totals(metrics: ConsumerMetrics): Record<string, number> {
  const runs = metrics.batchSize.count;
  return {
    consumed: metrics.consumed,
    published: metrics.published,
    dead_lettered: metrics.deadLettered,
    requeued: metrics.requeued,
    publish_retries: metrics.publishRetried,
    predictions_unroutable: metrics.predictionsUnroutable,
    replies_failed: metrics.repliesFailed,
    uncorrelated: metrics.uncorrelated,
    redelivered: metrics.redelivered,
    reconnects: Math.max(0, metrics.connects - 1),
    model_runs: runs,
    mean_batch: runs ? Math.round((10 * metrics.batchSize.sum) / runs) / 10 : 0,
  };
}
