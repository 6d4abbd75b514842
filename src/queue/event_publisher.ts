/**
 * Publishing a stream of events with publisher confirms, a bounded window
 * of unconfirmed messages at a time: `score publish`'s amqplib side.
 */
import { Buffer } from "node:buffer";
import { connect } from "amqplib";
import { UnavailableError } from "../errors.ts";
import { redact } from "../log.ts";
import { brokerError } from "./broker_error.ts";
import type { RowEvent } from "./row_events.ts";

/** Where and how to publish. */
export interface PublishOptions {
  url: string;
  /** Declared as a durable topic exchange if missing. */
  exchange: string;
  routingKey: string;
  /** Batches of events, published in order. */
  events: AsyncIterable<RowEvent[]>;
  /** Most messages published and not yet confirmed. */
  window?: number;
  /** Called as confirms arrive, with the total confirmed so far. */
  onConfirmed?(confirmed: number): void;
  signal?: AbortSignal;
  /** Each flag naming an exchange, and the name given: a refused name is reported with its flag. */
  exchangeFlags?: Record<string, string | undefined>;
}

/**
 * Publishes every event persistent and mandatory (`content_type` JSON,
 * `message_id` = the event id) and resolves with the count once the broker
 * confirmed them all. A nack or a lost connection fails the whole run:
 * events confirmed before it are in the broker, the rest may not be. An
 * event the broker returns (no queue bound for it) stops the run and fails
 * it with the counts published and returned: it would be gone otherwise.
 *
 * @example
 * ```ts
 * const n = await publishEvents({ url: "amqp://127.0.0.1", exchange: "rides", routingKey: "ride", events });
 * ```
 */
export async function publishEvents(o: PublishOptions): Promise<number> {
  const window = o.window ?? 1000;
  let connection;
  try {
    connection = await connect(o.url, { clientProperties: { connection_name: "score publish" } });
  } catch (err) {
    throw brokerError(err) ??
      new UnavailableError(`Cannot connect to ${redact(o.url)}: ${(err as Error).message}`, { cause: err });
  }
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const fail = (err: Error) => {
    failure ??= brokerError(err, o.exchangeFlags) ??
      new UnavailableError(`Publishing failed: ${err.message}`, { cause: err });
    wake?.();
  };
  connection.on("error", fail);
  connection.on("close", () => fail(new Error("the connection closed")));
  try {
    const channel = await connection.createConfirmChannel();
    channel.on("error", fail);
    try {
      await channel.assertExchange(o.exchange, "topic", { durable: true });
    } catch (err) {
      throw brokerError(err, o.exchangeFlags) ??
        new UnavailableError(`Cannot declare exchange "${o.exchange}": ${(err as Error).message}`, { cause: err });
    }
    let outstanding = 0;
    let confirmed = 0;
    let returned = 0;
    // The broker returns an unroutable message before it confirms it: the confirm then counts it too.
    channel.on("return", () => {
      returned++;
      wake?.();
    });
    const settle = (err: unknown) => {
      outstanding--;
      if (err) fail(err instanceof Error ? err : new Error("the broker nacked a message"));
      else o.onConfirmed?.(++confirmed);
      wake?.();
    };
    const waitFor = async (ok: () => boolean) => {
      while (!ok() && !failure) await new Promise<void>((resolve) => (wake = resolve));
      if (failure) throw failure;
    };
    for await (const batch of o.events) {
      for (const event of batch) {
        if (o.signal?.aborted || returned) break;
        await waitFor(() => outstanding < window);
        outstanding++;
        const body = event.body;
        channel.publish(o.exchange, o.routingKey, Buffer.from(body.buffer, body.byteOffset, body.byteLength), {
          persistent: true,
          contentType: "application/json",
          messageId: event.messageId,
          mandatory: true,
        }, settle);
      }
      if (o.signal?.aborted || returned) break;
    }
    await waitFor(() => outstanding === 0);
    if (returned) {
      throw new UnavailableError(
        `${returned} event(s) returned by the broker, ${confirmed - returned} published, then stopped: ` +
          `no queue is bound to exchange "${o.exchange}" for routing key "${o.routingKey}" ` +
          "(start score consume first, or bind a queue)",
      );
    }
    return confirmed;
  } finally {
    connection.removeAllListeners("close");
    try {
      await connection.close();
    } catch { /* already closed */ }
  }
}
