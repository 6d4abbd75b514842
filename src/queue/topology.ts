/**
 * The exchanges and queues `score consume` relies on, and declaring them.
 * Every declaration is idempotent, so each worker (and each reconnect)
 * declares the whole picture: whoever starts first creates it.
 */
import type { Channel } from "amqplib";

/** Names of everything one model's consumer uses. */
export interface Topology {
  /** The events exchange (durable topic). */
  exchange: string;
  /** The model's queue: one per model, shared by its workers. */
  queue: string;
  bindingKey: string;
  /** Where predictions go (durable topic); absent in a dry run. */
  predictionExchange?: string;
  /**
   * A durable queue bound to the prediction exchange with `predictionRoutingKey`: a decision
   * service's inbox, which keeps the predictions until it reads them.
   */
  predictionQueue?: string;
  /** The routing key of the predictions (the model name by default). */
  predictionRoutingKey?: string;
  deadLetterExchange?: string;
  deadLetterQueue?: string;
  /** A server-named, exclusive queue that goes away with the connection (dry runs). */
  temporaryQueue?: boolean;
}

/**
 * The names `score consume` uses when not told otherwise: the queue is
 * `<model>.<exchange>`, dead letters go through `<exchange>.dead-letter` to
 * `<queue>.dead-letter`; predictions are routed by the model name.
 *
 * @example
 * ```ts
 * defaultTopology({ model: "ride-duration-rf", exchange: "rides", predictionExchange: "predictions" });
 * // { queue: "ride-duration-rf.rides", deadLetterQueue: "ride-duration-rf.rides.dead-letter", ... }
 * ```
 */
export function defaultTopology(o: {
  model: string;
  exchange: string;
  predictionExchange?: string;
  predictionQueue?: string;
  predictionRoutingKey?: string;
  queue?: string;
  bindingKey?: string;
  deadLetterExchange?: string;
  deadLetterQueue?: string;
}): Topology {
  const queue = o.queue ?? `${o.model}.${o.exchange}`;
  return {
    exchange: o.exchange,
    queue,
    bindingKey: o.bindingKey ?? "#",
    predictionExchange: o.predictionExchange,
    predictionQueue: o.predictionQueue,
    predictionRoutingKey: o.predictionRoutingKey ?? o.model,
    deadLetterExchange: o.deadLetterExchange ?? `${o.exchange}.dead-letter`,
    deadLetterQueue: o.deadLetterQueue ?? `${queue}.dead-letter`,
  };
}

/**
 * Declares the topology on `channel` and returns the queue to consume
 * (the server's name for a temporary one). Dead letters are routed by the
 * consumer queue's name, so models sharing a dead-letter exchange keep
 * separate dead-letter queues.
 *
 * @example
 * ```ts
 * const queue = await declareTopology(channel, defaultTopology({ model: "m", exchange: "rides" }));
 * ```
 */
export async function declareTopology(channel: Channel, t: Topology): Promise<string> {
  await channel.assertExchange(t.exchange, "topic", { durable: true });
  if (t.predictionExchange) {
    await channel.assertExchange(t.predictionExchange, "topic", { durable: true });
    if (t.predictionQueue) {
      await channel.assertQueue(t.predictionQueue, { durable: true });
      await channel.bindQueue(t.predictionQueue, t.predictionExchange, t.predictionRoutingKey ?? "#");
    }
  }
  const queue = t.temporaryQueue
    ? (await channel.assertQueue("", { exclusive: true, autoDelete: true, durable: false })).queue
    : (await channel.assertQueue(t.queue, { durable: true })).queue;
  await channel.bindQueue(queue, t.exchange, t.bindingKey);
  if (t.deadLetterExchange && t.deadLetterQueue) {
    await channel.assertExchange(t.deadLetterExchange, "topic", { durable: true });
    await channel.assertQueue(t.deadLetterQueue, { durable: true });
    await channel.bindQueue(t.deadLetterQueue, t.deadLetterExchange, t.queue);
  }
  return queue;
}
