/**
 * The consumer's counters and histograms, rendered in the Prometheus text
 * format for `/metrics`.
 */

const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly buckets: number[]) {
    this.counts = buckets.map(() => 0);
  }
  observe(v: number) {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]) this.counts[i]++;
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
 * metrics.render(); // "# TYPE score_consumer_events_consumed_total counter\n..."
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
  /** Successful connections: 1 + reconnects. */
  connects = 0;
  connected = false;
  inFlight = 0;
  readonly batchSize = new Histogram(BATCH_BUCKETS);
  /** Seconds from delivery to ack. */
  readonly latency = new Histogram(LATENCY_BUCKETS);

  /** The model version consuming now (it changes on a reload). */
  version = "";

  constructor(readonly model: string) {}

  /** The Prometheus exposition text. */
  render(): string {
    const label = `model="${this.model.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
    const lines: string[] = [];
    const scalar = (name: string, type: string, help: string, v: number) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name}{${label}} ${v}`);
    };
    const histogram = (name: string, help: string, h: Histogram) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
      h.buckets.forEach((b, i) => lines.push(`${name}_bucket{${label},le="${b}"} ${h.counts[i]}`));
      lines.push(
        `${name}_bucket{${label},le="+Inf"} ${h.count}`,
        `${name}_sum{${label}} ${h.sum}`,
        `${name}_count{${label}} ${h.count}`,
      );
    };
    scalar("score_consumer_events_consumed_total", "counter", "Events delivered to this consumer.", this.consumed);
    scalar(
      "score_consumer_predictions_published_total",
      "counter",
      "Prediction messages confirmed by the broker.",
      this.published,
    );
    scalar(
      "score_consumer_events_dead_lettered_total",
      "counter",
      "Events sent to the dead-letter exchange.",
      this.deadLettered,
    );
    scalar(
      "score_consumer_events_redelivered_total",
      "counter",
      "Events the broker had delivered before.",
      this.redelivered,
    );
    scalar(
      "score_consumer_events_requeued_total",
      "counter",
      "Events put back on their queue (a model failure, or a publish the broker did not take).",
      this.requeued,
    );
    scalar(
      "score_consumer_publish_retries_total",
      "counter",
      "Events requeued after a delay because the broker nacked or returned what they published.",
      this.publishRetried,
    );
    scalar(
      "score_consumer_predictions_unroutable_total",
      "counter",
      "Predictions returned by the broker (no queue bound); their events are dead-lettered.",
      this.predictionsUnroutable,
    );
    scalar(
      "score_consumer_replies_failed_total",
      "counter",
      "Replies to an event's reply_to not delivered (no such queue, nacked, refused).",
      this.repliesFailed,
    );
    scalar("score_consumer_events_in_flight", "gauge", "Events delivered and not yet acked.", this.inFlight);
    scalar("score_consumer_connects_total", "counter", "Connections opened (1 + reconnects).", this.connects);
    scalar("score_consumer_connected", "gauge", "1 while connected to the broker.", this.connected ? 1 : 0);
    histogram("score_consumer_batch_size", "Events scored per model run.", this.batchSize);
    histogram("score_consumer_event_latency_seconds", "Seconds from delivery to ack.", this.latency);
    const version = this.version.replaceAll("\\", "\\\\").replaceAll('"', '\\"');
    lines.push(
      "# HELP score_consumer_model_info The model consuming and its version (it changes on a reload).",
      "# TYPE score_consumer_model_info gauge",
      `score_consumer_model_info{${label},version="${version}"} 1`,
    );
    return lines.join("\n") + "\n";
  }
}
