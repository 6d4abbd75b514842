/**
 * The messages the queue handler deals in, free of any AMQP client type:
 * what arrives (body, properties, where it came from) and what the handler
 * decides for it (a {@linkcode Verdict}). The amqplib loop translates both
 * ways; the handler never sees a channel.
 *
 * @example
 * ```ts
 * const event: EventMessage = {
 *   body: new TextEncoder().encode('{"ride": {"PULocationID": 130}, "ride_id": 256}'),
 *   properties: { messageId: "256" },
 *   exchange: "rides",
 *   routingKey: "ride",
 *   redelivered: false,
 * };
 * ```
 */

/** The AMQP properties the handler reads or carries over. */
export interface MessageProperties {
  correlationId?: string;
  messageId?: string;
  replyTo?: string;
  contentType?: string;
  headers?: Record<string, unknown>;
}

/** One event as delivered. */
export interface EventMessage {
  body: Uint8Array;
  properties: MessageProperties;
  /** The exchange and routing key it was published with. */
  exchange: string;
  routingKey: string;
  /** The broker delivered it before (requeued, or unacked when a connection dropped). */
  redelivered: boolean;
}

/** One message to publish: always persistent. */
export interface OutgoingMessage {
  exchange: string;
  routingKey: string;
  body: Uint8Array;
  properties: MessageProperties;
}

/** The seed's prediction record. */
export interface PredictionRecord {
  model: string;
  version: string;
  prediction: Record<string, unknown>;
}

/**
 * What to do with an event. `publish`: send every message, ack once all are
 * confirmed. `dead-letter`: send `message` (the event with the reason in its
 * headers) to the dead-letter exchange, ack once confirmed. `requeue`: nack
 * it back to its queue.
 */
export type Verdict =
  | { action: "publish"; record: PredictionRecord; messages: OutgoingMessage[] }
  | { action: "dead-letter"; code: string; reason: string; message: OutgoingMessage }
  | { action: "requeue"; code: string; reason: string };
