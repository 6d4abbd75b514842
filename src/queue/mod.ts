/**
 * The queue transport: the pure message handler (an event in, a verdict
 * out), the amqplib consumer loop that carries verdicts out, its metrics and
 * topology, and the publisher of `score publish`.
 *
 * @example
 * ```ts
 * import { MessageHandler, runConsumerLoop } from "./src/queue/mod.ts";
 * ```
 */
export { runConsumerLoop } from "./consumer_loop.ts";
export { ConsumerMetrics } from "./consumer_metrics.ts";
export { publishEvents } from "./event_publisher.ts";
export { MessageHandler } from "./message_handler.ts";
export type { MetricsSource } from "./metrics_server.ts";
export { type RowEvent, rowEvents } from "./row_events.ts";
export { defaultTopology, type Topology } from "./topology.ts";
