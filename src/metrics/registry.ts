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
import client from "prom-client";

export const { Registry, Counter, Gauge, Histogram } = client;
export type Registry = client.Registry;

/** The content type of the text exposition format (0.0.4). */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The registry's metrics in the text exposition format. */
export function metricsText(registry: Registry): Promise<string> {
  return registry.metrics();
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
