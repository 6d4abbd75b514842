/**
 * The consumer's counters and histograms, in a prom-client registry served
 * on `/metrics` by the metrics app.
 */
import {
  type CountsUnknownCategories,
  Histogram,
  metricsText,
  Registry,
  scrapedCounter,
  scrapedGauge,
  unknownCategoriesCounter,
} from "../metrics/mod.ts";

const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A histogram of one label set that also keeps its count and sum at hand, for the summary log line. */
class Observed {
  count = 0;
  sum = 0;
  readonly #observe: (v: number) => void;
  constructor(histogram: InstanceType<typeof Histogram>, labels: Record<string, string>) {
    const child = histogram.labels(labels);
    this.#observe = (v) => child.observe(v);
  }
  observe(v: number) {
    this.count++;
    this.sum += v;
    this.#observe(v);
  }
}

/**
 * What one consumer process has done. The loop and the batcher bump it;
 * `/metrics` renders it.
 *
 * @example
 * ```ts
 * const metrics = new ConsumerMetrics("ride-duration-linreg");
 * metrics.consumed++;
 * await metrics.render(); // "# HELP score_consumer_events_consumed_total ..."
 * ```
 */
export class ConsumerMetrics {
  consumed = 0;
  published = 0;
  deadLettered = 0;
  redelivered = 0;
  requeued = 0;
  /** Events requeued after a delay because the broker nacked or returned what their verdict published. */
  publishRetried = 0;
  /** Predictions the broker returned: no queue bound for them (their events are dead-lettered). */
  predictionsUnroutable = 0;
  /** Replies (to an event's reply_to) not delivered: returned, nacked or refused. */
  repliesFailed = 0;
  /** Predictions of events with no id (at --id-path) and no message or correlation id. */
  uncorrelated = 0;
  /** Successful connections: 1 + reconnects. */
  connects = 0;
  connected = false;
  inFlight = 0;
  readonly registry = new Registry();
  readonly batchSize: Observed;
  /** Seconds from delivery to ack. */
  readonly latency: Observed;

  /** The model version consuming now (it changes on a reload). */
  version = "";
  /** The model consuming now, whose unknown categories are counted (set by the command; it changes on a reload). */
  current: CountsUnknownCategories | undefined;

  constructor(readonly model: string) {
    const registry = this.registry;
    const labelNames = ["model"];
    const counter = (name: string, help: string, read: () => number) =>
      scrapedCounter(registry, { name, help, labelNames, read: () => [{ labels: { model }, value: read() }] });
    const gauge = (name: string, help: string, read: () => number) =>
      scrapedGauge(registry, { name, help, labelNames, read: () => [{ labels: { model }, value: read() }] });
    counter("score_consumer_events_consumed_total", "Events delivered to this consumer.", () => this.consumed);
    counter(
      "score_consumer_predictions_published_total",
      "Prediction messages confirmed by the broker.",
      () => this.published,
    );
    counter(
      "score_consumer_events_dead_lettered_total",
      "Events sent to the dead-letter exchange.",
      () => this.deadLettered,
    );
    counter(
      "score_consumer_events_redelivered_total",
      "Events the broker had delivered before.",
      () => this.redelivered,
    );
    counter(
      "score_consumer_events_requeued_total",
      "Events put back on their queue (a model failure, or a publish the broker did not take).",
      () => this.requeued,
    );
    counter(
      "score_consumer_publish_retries_total",
      "Events requeued after a delay because the broker nacked or returned what they published.",
      () => this.publishRetried,
    );
    counter(
      "score_consumer_predictions_unroutable_total",
      "Predictions returned by the broker (no queue bound); their events are dead-lettered.",
      () => this.predictionsUnroutable,
    );
    counter(
      "score_consumer_replies_failed_total",
      "Replies to an event's reply_to not delivered (no such queue, nacked, refused).",
      () => this.repliesFailed,
    );
    counter(
      "score_consumer_predictions_uncorrelated_total",
      "Predictions of events with no id at --id-path and no message or correlation id: nothing ties them to their event.",
      () => this.uncorrelated,
    );
    gauge("score_consumer_events_in_flight", "Events delivered and not yet acked.", () => this.inFlight);
    counter("score_consumer_connects_total", "Connections opened (1 + reconnects).", () => this.connects);
    gauge("score_consumer_connected", "1 while connected to the broker.", () => (this.connected ? 1 : 0));
    const histogram = (name: string, help: string, buckets: number[]) =>
      new Observed(new Histogram({ name, help, labelNames, buckets, registers: [registry] }), { model });
    this.batchSize = histogram("score_consumer_batch_size", "Events scored per model run.", BATCH_BUCKETS);
    this.latency = histogram("score_consumer_event_latency_seconds", "Seconds from delivery to ack.", LATENCY_BUCKETS);
    scrapedGauge(registry, {
      name: "score_consumer_model_info",
      help: "The model consuming and its version (it changes on a reload).",
      labelNames: ["model", "version"],
      read: () => [{ labels: { model, version: this.version }, value: 1 }],
    });
    unknownCategoriesCounter(registry, () => this.current ? [this.current] : []);
  }

  /** The Prometheus exposition text. */
  render(): Promise<string> {
    return metricsText(this.registry);
  }

  /** True while connected to the broker (the health answer's `connected`). */
  isConnected(): boolean {
    return this.connected;
  }
}
