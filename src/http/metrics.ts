/**
 * The service's Prometheus metrics, kept in memory and rendered as the
 * text exposition format on `GET /metrics`. Labels are bounded: routes are
 * the registered patterns, models the loaded ones, so no request can grow
 * the series without limit.
 *
 * @example
 * ```ts
 * const metrics = new Metrics();
 * metrics.observeRequest("ride-duration-linreg", "/predict", 200, 0.0012);
 * metrics.render(); // "# HELP score_http_requests_total ..."
 * ```
 */

/** Request latency buckets in seconds: the service aims at single milliseconds. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Rows per model run. */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly buckets: number[]) {
    this.counts = new Array(buckets.length).fill(0);
  }
  observe(v: number) {
    this.sum += v;
    this.count++;
    // Counts are per bucket here and made cumulative when rendered.
    for (let i = 0; i < this.buckets.length; i++) {
      if (v <= this.buckets[i]) {
        this.counts[i]++;
        return;
      }
    }
  }
}

/** A value read when the metrics are scraped (queue depth, log counters). */
export interface Gauge {
  name: string;
  help: string;
  type: "gauge" | "counter";
  /** One sample per label set. */
  read: () => { labels: Record<string, string>; value: number }[];
}

/** The metrics of one server. */
export class Metrics {
  readonly #requests = new Map<string, number>();
  readonly #latency = new Map<string, Histogram>();
  // Label strings per (model, route, status), built once: observeRequest runs on every request.
  readonly #requestKeys = new Map<string, { count: string; latency: string }>();
  readonly #batches = new Map<string, Histogram>();
  readonly #rejected = new Map<string, number>();
  readonly #gauges: Gauge[] = [];

  /**
   * Counts one answered request and its latency; `version` is the model
   * version that scored it ("" for a request that scored nothing), so a
   * reload shows as a new series.
   */
  observeRequest(model: string, route: string, status: number, seconds: number, version = "") {
    const id = `${model}\0${route}\0${status}\0${version}`;
    let keys = this.#requestKeys.get(id);
    if (keys === undefined) {
      const v: Record<string, string> = version === "" ? {} : { version };
      keys = {
        count: labels({ model, ...v, route, status: String(status) }),
        latency: labels({ model, ...v, route }),
      };
      this.#requestKeys.set(id, keys);
    }
    this.#requests.set(keys.count, (this.#requests.get(keys.count) ?? 0) + 1);
    let h = this.#latency.get(keys.latency);
    if (h === undefined) this.#latency.set(keys.latency, h = new Histogram(LATENCY_BUCKETS));
    h.observe(seconds);
  }

  /** Counts one model run of `rows` rows by a model version. */
  observeBatch(model: string, rows: number, version?: string) {
    const key = labels(version === undefined ? { model } : { model, version });
    let h = this.#batches.get(key);
    if (h === undefined) this.#batches.set(key, h = new Histogram(BATCH_BUCKETS));
    h.observe(rows);
  }

  /** Counts a request refused before scoring (queue full, body too large, unauthorized). */
  reject(reason: string) {
    const key = labels({ reason });
    this.#rejected.set(key, (this.#rejected.get(key) ?? 0) + 1);
  }

  /** Adds a value read at scrape time. */
  addGauge(gauge: Gauge) {
    this.#gauges.push(gauge);
  }

  /** The Prometheus text exposition (version 0.0.4). */
  render(): string {
    const out: string[] = [];
    out.push("# HELP score_http_requests_total HTTP requests answered, by model, version, route and status.");
    out.push("# TYPE score_http_requests_total counter");
    for (const [k, v] of this.#requests) out.push(`score_http_requests_total{${k}} ${v}`);
    renderHistogram(
      out,
      "score_http_request_duration_seconds",
      "Time to answer a request, by model, version and route.",
      this.#latency,
    );
    renderHistogram(
      out,
      "score_batch_rows",
      "Rows per model run (dynamic batching), by model and version.",
      this.#batches,
    );
    out.push("# HELP score_rejected_requests_total Requests refused before scoring, by reason.");
    out.push("# TYPE score_rejected_requests_total counter");
    for (const [k, v] of this.#rejected) out.push(`score_rejected_requests_total{${k}} ${v}`);
    for (const g of this.#gauges) {
      out.push(`# HELP ${g.name} ${g.help}`);
      out.push(`# TYPE ${g.name} ${g.type}`);
      for (const s of g.read()) {
        const l = labels(s.labels);
        out.push(l === "" ? `${g.name} ${s.value}` : `${g.name}{${l}} ${s.value}`);
      }
    }
    return out.join("\n") + "\n";
  }
}

function renderHistogram(out: string[], name: string, help: string, series: Map<string, Histogram>) {
  out.push(`# HELP ${name} ${help}`);
  out.push(`# TYPE ${name} histogram`);
  for (const [k, h] of series) {
    let cumulative = 0;
    for (let i = 0; i < h.buckets.length; i++) {
      cumulative += h.counts[i];
      out.push(`${name}_bucket{${k},le="${h.buckets[i]}"} ${cumulative}`);
    }
    out.push(`${name}_bucket{${k},le="+Inf"} ${h.count}`);
    out.push(`${name}_sum{${k}} ${h.sum}`);
    out.push(`${name}_count{${k}} ${h.count}`);
  }
}

function labels(values: Record<string, string>): string {
  return Object.entries(values).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",");
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}
