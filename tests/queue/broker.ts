/**
 * The real RabbitMQ for integration tests: one connection per test, random
 * exchange and queue names, and everything it declared deleted at the end.
 */
import { Buffer } from "node:buffer";
import { type ChannelModel, type ConfirmChannel, connect, type ConsumeMessage, type Options } from "amqplib";
import { randomName } from "../helpers.ts";

export { closeConnectionsNamed } from "./close_connections.ts";

/** The broker the tests use. */
export const AMQP_URL = Deno.env.get("AMQP_URL") ?? "amqp://guest:guest@127.0.0.1:5672";

/** The course's event. */
export const COURSE_EVENT = { ride: { PULocationID: 130, DOLocationID: 205, trip_distance: 3.66 }, ride_id: 256 };

/** Messages arriving on one queue. */
export interface Collector {
  readonly messages: ConsumeMessage[];
  /** Resolves once `n` messages arrived; rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs?: number): Promise<ConsumeMessage[]>;
  /** Bodies parsed as JSON. */
  json(): Record<string, any>[];
}

/**
 * A test's own connection to the broker.
 *
 * @example
 * ```ts
 * await using broker = await TestBroker.open();
 * const events = await broker.exchange("events");
 * ```
 */
export class TestBroker {
  readonly #connection: ChannelModel;
  readonly channel: ConfirmChannel;
  readonly #exchanges = new Set<string>();
  readonly #queues = new Set<string>();

  private constructor(connection: ChannelModel, channel: ConfirmChannel) {
    this.#connection = connection;
    this.channel = channel;
  }

  static async open(): Promise<TestBroker> {
    const connection = await connect(AMQP_URL, { clientProperties: { connection_name: "score test" } });
    connection.on("error", () => {});
    const channel = await connection.createConfirmChannel();
    return new TestBroker(connection, channel);
  }

  /** A fresh durable topic exchange, deleted at the end. */
  async exchange(prefix: string): Promise<string> {
    const name = randomName(prefix);
    await this.channel.assertExchange(name, "topic", { durable: true });
    this.#exchanges.add(name);
    return name;
  }

  /** Deletes these too at the end (what `score consume` declared). */
  track(o: { exchanges?: string[]; queues?: string[] }) {
    for (const e of o.exchanges ?? []) this.#exchanges.add(e);
    for (const q of o.queues ?? []) this.#queues.add(q);
  }

  /** A fresh queue bound to `exchange`, deleted at the end. */
  async queue(exchange: string, bindingKey = "#"): Promise<string> {
    const name = randomName("q");
    await this.channel.assertQueue(name, { durable: true });
    await this.channel.bindQueue(name, exchange, bindingKey);
    this.#queues.add(name);
    return name;
  }

  /** Publishes persistent JSON (or raw text) events and waits for the broker's confirms. */
  async publish(
    exchange: string,
    bodies: unknown[],
    options: (i: number) => Options.Publish = () => ({}),
  ): Promise<void> {
    bodies.forEach((body, i) => {
      const content = Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
      this.channel.publish(exchange, "ride", content, {
        persistent: true,
        contentType: "application/json",
        ...options(i),
      });
    });
    await this.channel.waitForConfirms();
  }

  /** Consumes (and acks) everything arriving on `queue`. */
  async collect(queue: string): Promise<Collector> {
    const messages: ConsumeMessage[] = [];
    let waiter: (() => void) | undefined;
    await this.channel.consume(queue, (m) => {
      if (m === null) return;
      messages.push(m);
      this.channel.ack(m);
      waiter?.();
    });
    return {
      messages,
      json: () => messages.map((m) => JSON.parse(m.content.toString())),
      waitFor: (n, timeoutMs = 20_000) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => {
            waiter = undefined;
            reject(new Error(`${messages.length} messages on ${queue} after ${timeoutMs} ms, expected ${n}`));
          }, timeoutMs);
          waiter = () => {
            if (messages.length < n) return;
            clearTimeout(timer);
            waiter = undefined;
            resolve(messages);
          };
          waiter();
        }),
    };
  }

  /** Messages ready in `queue` (not counting unacked ones). */
  async count(queue: string): Promise<number> {
    const ch = await this.#connection.createChannel();
    ch.on("error", () => {});
    try {
      return (await ch.checkQueue(queue)).messageCount;
    } finally {
      await ch.close().catch(() => {});
    }
  }

  async [Symbol.asyncDispose]() {
    const ch = await this.#connection.createChannel();
    ch.on("error", () => {});
    for (const q of this.#queues) await ch.deleteQueue(q);
    for (const e of this.#exchanges) await ch.deleteExchange(e);
    await this.#connection.close();
  }
}
