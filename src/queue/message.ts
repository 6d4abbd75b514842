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

/**
 * The AMQP basic properties (amqplib's names). A dead letter carries every
 * one of the event's; `timestamp` is in seconds, as AMQP sends it.
 */
export interface MessageProperties {
  contentType?: string;
  contentEncoding?: string;
  headers?: Record<string, unknown>;
  deliveryMode?: number;
  priority?: number;
  correlationId?: string;
  replyTo?: string;
  expiration?: string;
  messageId?: string;
  timestamp?: number;
  type?: string;
  userId?: string;
  appId?: string;
  clusterId?: string;
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

/** The course's prediction record. */
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
  | {
    action: "publish";
    record: PredictionRecord;
    messages: OutgoingMessage[];
    /** The event had no id at the id path and no message or correlation id: nothing ties the prediction to it. */
    uncorrelated?: true;
  }
  | { action: "dead-letter"; code: string; reason: string; message: OutgoingMessage }
  | { action: "requeue"; code: string; reason: string };

/**
 * Why a verdict's publish failed, as the loop reports it back to the
 * handler (which maps every failure to a verdict in one place).
 * `refused`: the client would not send the message (a property it cannot
 * encode); `unroutable`: the broker returned a mandatory message no queue
 * is bound for.
 */
export type PublishFailure =
  | { kind: "refused"; error: string }
  | { kind: "unroutable"; exchange: string; routingKey: string };
