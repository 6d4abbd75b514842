/**
 * The one Prometheus registry type every command fills: prom-client's
 * (the Node ecosystem's standard client; it runs unchanged under Deno).
 * Its default process metrics are not collected: `monitorEventLoopDelay`,
 * which they rely on, reports 0 under Deno.
 *
 * @example
 * ```ts
 * const registry = new Registry();
 * const runs = new Counter({ name: "runs_total", help: "Runs.", registers: [registry] });
 * runs.inc();
 * await metricsText(registry); // "# HELP runs_total Runs.\n# TYPE runs_total counter\nruns_total 1\n"
 * ```
 */
import type client from "prom-client";
import type * as Aggregator from "./aggregator_registry.ts";
import { lazyImport } from "../lazy_import.ts";
// The classes from their own files, not prom-client's index: the index loads all it offers, its Pushgateway (with
// node:http, node:https and node:zlib) and default metrics among them, which under Deno was a tenth of a service's
// start. Pinned by tests/metrics/registry_test.ts: they are the index's own classes.
import CounterClass from "prom-client/lib/counter.js";
import GaugeClass from "prom-client/lib/gauge.js";
import HistogramClass from "prom-client/lib/histogram.js";
import RegistryClass from "prom-client/lib/registry.js";

export const Registry: typeof client.Registry = RegistryClass;
export const Counter: typeof client.Counter = CounterClass;
export const Gauge: typeof client.Gauge = GaugeClass;
export const Histogram: typeof client.Histogram = HistogramClass;
export type Registry = client.Registry;

/** The content type of the text exposition format (0.0.4). */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The registry's metrics in the text exposition format. */
export function metricsText(registry: Registry): Promise<string> {
  return registry.metrics();
}

/** Metrics as one registry's `getMetricsAsJSON()` lists them (what threads send to be summed). */
export type MetricsJson = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;

/**
 * Several registries' metrics (of the same names, e.g. one per worker thread) as one exposition: counters and
 * histograms summed series by series, gauges summed only when listed in `additiveGauges` (open connections, queued
 * rows); any other gauge keeps its largest value (an info gauge that is 1 in every thread, a drift score).
 *
 * @example
 * ```ts
 * await summedText([await a.getMetricsAsJSON(), await b.getMetricsAsJSON()], ["score_http_connections"]);
 * ```
 */
export async function summedText(registries: MetricsJson[], additiveGauges: readonly string[] = []): Promise<string> {
  const { AggregatorRegistry } = await lazyImport<typeof Aggregator>(
    new URL("./aggregator_registry.ts", import.meta.url),
  );
  const marked = registries.map((metrics) =>
    metrics.map((m) =>
      String(m.type) === "gauge" && !additiveGauges.includes(m.name) ? { ...m, aggregator: "max" as const } : m
    )
  );
  return await AggregatorRegistry.aggregate(marked as never).metrics();
}

/** A metric whose value is read from another object at each scrape. */
export interface ScrapedMetric {
  name: string;
  help: string;
  /** The labels its samples carry (prom-client refuses any other). */
  labelNames?: readonly string[];
  /** One sample per label set. */
  read: () => readonly Sample[];
}

/** One value of a scraped metric, with its labels. */
export interface Sample {
  labels?: Record<string, string>;
  value: number;
}

/**
 * Registers a counter read at each scrape: for totals another object keeps
 * (the prediction log's, a consumer's).
 *
 * @example
 * ```ts
 * scrapedCounter(registry, { name: "score_prediction_log_written_total", help: "Written.", read: () => [{ value: log.written }] });
 * ```
 */
export function scrapedCounter(registry: Registry, metric: ScrapedMetric): client.Counter {
  return new Counter({
    ...options(registry, metric),
    collect() {
      this.reset();
      for (const s of metric.read()) this.inc(s.labels ?? {}, s.value);
    },
  });
}

/** Registers a gauge read at each scrape (queue depth, the models loaded). */
export function scrapedGauge(registry: Registry, metric: ScrapedMetric): void {
  new Gauge({
    ...options(registry, metric),
    collect() {
      this.reset();
      for (const s of metric.read()) this.set(s.labels ?? {}, s.value);
    },
  });
}

function options(registry: Registry, metric: ScrapedMetric) {
  return { name: metric.name, help: metric.help, labelNames: metric.labelNames ?? [], registers: [registry] };
}
