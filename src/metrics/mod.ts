/**
 * Metrics: one Prometheus registry type (prom-client's) for every command.
 *
 * @example
 * ```ts
 * import { Counter, Registry } from "./src/metrics/mod.ts";
 * ```
 */
export { KeyedHistogram, type KeyedHistogramOptions } from "./keyed_histogram.ts";
export {
  Counter,
  Gauge,
  Histogram,
  METRICS_CONTENT_TYPE,
  type MetricsJson,
  metricsText,
  Registry,
  type Sample,
  scrapedCounter,
  scrapedGauge,
  type ScrapedMetric,
  summedText,
} from "./registry.ts";
export { type CountsUnknownCategories, unknownCategoriesCounter } from "./unknown_categories.ts";
