/**
 * The service's Prometheus metrics, in one prom-client registry rendered on
 * `GET /metrics`, whichever transport answered (the `protocol` label: rest or
 * grpc). Labels are bounded: routes are the registered patterns (a gRPC
 * method's full name), models the loaded ones, so no request can grow the
 * series without limit.
 *
 * @example
 * ```ts
 * const metrics = new Metrics();
 * metrics.observeRequest("ride-duration-linreg", "/predict", 200, 0.0012, "", "rest");
 * await metrics.render(); // "# HELP score_http_requests_total ..."
 * ```
 */
import {
  Counter,
  KeyedHistogram,
  metricsText,
  Registry,
  scrapedCounter,
  scrapedGauge,
  type ScrapedMetric,
} from "../metrics/mod.ts";

/** Request latency buckets in seconds: the service aims at single milliseconds. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Rows per model run. */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

/** The labels of one request series, made once per (model, version, route, status, protocol). */
interface RequestSeries {
  /** The latency histogram's key and labels (no status). */
  key: string;
  labels: Record<string, string>;
  /** The request counter's labels, and its count so far. */
  counted: Record<string, string>;
  count: number;
}

/** The metrics of one server. */
export class Metrics {
  readonly registry = new Registry();
  // The request path's metrics are kept here and in KeyedHistograms, not in prom-client's Counter and Histogram,
  // whose label checks and hashing are a real share of a single-ride request; prom-client renders them all the same.
  readonly #requestSeries = new Map<string, RequestSeries>();
  // Kept as a field so that it is registered first: /metrics lists its metrics in the order it always has.
  readonly #requests = scrapedCounter(this.registry, {
    name: "score_http_requests_total",
    help: "Requests answered, by model, version, route, status (HTTP status, or gRPC code name) and protocol.",
    labelNames: ["model", "version", "route", "status", "protocol"],
    read: () => [...this.#requestSeries.values()].map((s) => ({ labels: s.counted, value: s.count })),
  });
  readonly #latency = new KeyedHistogram({
    name: "score_http_request_duration_seconds",
    help: "Time to answer a request, by model, version, route and protocol.",
    labelNames: ["model", "version", "route", "protocol"],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly #batches = new KeyedHistogram({
    name: "score_batch_rows",
    help: "Rows per model run (dynamic batching), by model and version.",
    labelNames: ["model", "version"],
    buckets: BATCH_BUCKETS,
    registers: [this.registry],
  });
  /** Requests being answered; a plain number read at scrape time, so the request path pays no more than a +1 and a -1. */
  #inFlight = 0;
  readonly #rejected = new Counter({
    name: "score_rejected_requests_total",
    help: "Requests refused before scoring, by reason.",
    labelNames: ["reason"],
    registers: [this.registry],
  });

  constructor() {
    scrapedGauge(this.registry, {
      name: "score_http_requests_in_flight",
      help: "Requests being answered, over HTTP or gRPC (a scrape over HTTP counts itself).",
      read: () => [{ value: this.#inFlight }],
    });
  }

  /** Counts a request as in flight until {@linkcode Metrics.requestDone}. */
  requestStarted() {
    this.#inFlight++;
  }

  /** Counts a request started with {@linkcode Metrics.requestStarted} as answered. */
  requestDone() {
    this.#inFlight--;
  }

  /**
   * Counts one answered request and its latency; `version` is the model
   * version that scored it ("" for a request that scored nothing), so a
   * reload shows as a new series; `status` an HTTP status or a gRPC code name.
   */
  observeRequest(
    model: string,
    route: string,
    status: number | string,
    seconds: number,
    version = "",
    protocol: "rest" | "grpc" = "rest",
  ) {
    const id = `${model}\0${version}\0${route}\0${status}\0${protocol}`;
    let series = this.#requestSeries.get(id);
    if (series === undefined) {
      const labels: Record<string, string> = version === ""
        ? { model, route, protocol }
        : { model, version, route, protocol };
      series = {
        key: `${model}\0${version}\0${route}\0${protocol}`,
        labels,
        counted: version === ""
          ? { model, route, status: String(status), protocol }
          : { model, version, route, status: String(status), protocol },
        count: 0,
      };
      this.#requestSeries.set(id, series);
    }
    series.count++;
    this.#latency.observe(series.key, series.labels, seconds);
  }

  /** Counts one model run of `rows` rows by a model version. */
  observeBatch(model: string, rows: number, version: string) {
    this.#batches.observe(`${model}\0${version}`, { model, version }, rows);
  }

  /** Counts a request refused before scoring (queue full, body too large, unauthorized). */
  reject(reason: string) {
    this.#rejected.inc({ reason });
  }

  /** Adds a counter read at scrape time (totals kept elsewhere, e.g. the prediction log's). */
  addCounter(metric: ScrapedMetric) {
    scrapedCounter(this.registry, metric);
  }

  /** Adds a gauge read at scrape time (queue depth, the loaded models). */
  addGauge(metric: ScrapedMetric) {
    scrapedGauge(this.registry, metric);
  }

  /** Set by `renderWith`: renders in place of this registry alone (e.g. every worker thread's, summed). */
  #render?: () => Promise<string>;

  /** The Prometheus text exposition (version 0.0.4). */
  render(): Promise<string> {
    return this.#render ? this.#render() : metricsText(this.registry);
  }

  /** `/metrics` renders `render()` instead of this registry, e.g. the sum of every worker's (`serve --workers`). */
  renderWith(render: () => Promise<string>) {
    this.#render = render;
  }
}
