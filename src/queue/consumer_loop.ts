/**
 * The amqplib side of `score consume` (MLServer's `server.py` to the
 * handler's `handlers.py`): connect, declare the topology, consume on a
 * confirm channel with a prefetch, carry out each verdict, ack only after
 * the broker confirmed what the verdict published, reconnect with backoff
 * when the connection or channel is lost, and drain on stop.
 */
import { Buffer } from "node:buffer";
import { type Channel, type ChannelModel, type ConfirmChannel, connect, type ConsumeMessage } from "amqplib";
import { AuthError, UsageError } from "../errors.ts";
import { log, redact } from "../log.ts";
import type { ConsumerMetrics } from "./consumer_metrics.ts";
import type { EventMessage, OutgoingMessage, Verdict } from "./message.ts";
import { declareTopology, type Topology } from "./topology.ts";

/** What the loop needs. */
export interface ConsumerLoopOptions {
  url: string;
  topology: Topology;
  /** Unacked events the broker may hand this consumer at once. */
  prefetch: number;
  /** The pure message handler. */
  handle(event: EventMessage): Promise<Verdict>;
  /** Publish, dead-letter and requeue nothing: hand each verdict to `onDryRun`, log failures, ack. */
  dryRun?: boolean;
  onDryRun?(verdict: Verdict): void;
  metrics?: ConsumerMetrics;
  /** Aborting it stops consuming, finishes the events in flight, closes and resolves. */
  signal: AbortSignal;
  /** Backoff between connection attempts: doubles from `initialDelayMs` up to `maxDelayMs`, with jitter. */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  /** How long a stop waits for the events in flight. */
  drainTimeoutMs?: number;
  /** Shown by `rabbitmqctl list_connections client_properties`. */
  connectionName?: string;
}

/** AMQP reply codes that no reconnect can fix. */
const ACCESS_REFUSED = 403;
const PRECONDITION_FAILED = 406;
const NOT_ALLOWED = 530;

/**
 * Consumes until `signal` is aborted; resolves once the events in flight
 * are published and acked and the connection is closed. Rejects only for
 * failures a retry cannot fix (bad credentials, a topology that clashes
 * with what the broker has).
 *
 * @example
 * ```ts
 * const stop = new AbortController();
 * Deno.addSignalListener("SIGTERM", () => stop.abort());
 * await runConsumerLoop({ url, topology, prefetch: 256, handle: (e) => handler.handle(e), signal: stop.signal });
 * ```
 */
export async function runConsumerLoop(o: ConsumerLoopOptions): Promise<void> {
  const initial = o.reconnect?.initialDelayMs ?? 100;
  const max = o.reconnect?.maxDelayMs ?? 30_000;
  let attempt = 0;
  while (!o.signal.aborted) {
    const session = new Session(o);
    try {
      await session.open();
      attempt = 0;
      const lost = await session.run();
      if (lost === undefined) return;
      log.warn("connection to the broker lost; reconnecting", { error: lost.message });
    } catch (err) {
      const fatal = fatalError(err);
      if (fatal) throw fatal;
      log.warn("cannot reach the broker; retrying", { url: redact(o.url), error: (err as Error).message, attempt });
    } finally {
      await session.dispose();
    }
    const delay = Math.min(max, initial * 2 ** attempt++) * (0.8 + 0.4 * Math.random());
    await sleep(delay, o.signal);
  }
}

/** One connection's life: open, consume, lose it or stop. */
class Session {
  readonly #o: ConsumerLoopOptions;
  #connection?: ChannelModel;
  #channel?: ConfirmChannel;
  #consumerTag?: string;
  /** The channel can no longer ack or publish. */
  #closed = false;
  /** Lost or disposed: nothing more to report. */
  #settled = false;
  #inFlight = 0;
  #idle: (() => void)[] = [];
  #lost!: (err: Error) => void;
  readonly #lostPromise = new Promise<Error>((resolve) => (this.#lost = resolve));

  constructor(o: ConsumerLoopOptions) {
    this.#o = o;
  }

  async open() {
    const o = this.#o;
    this.#connection = await connect(o.url, {
      clientProperties: { connection_name: o.connectionName ?? "score consume" },
    });
    this.#connection.on("error", (err: Error) => this.#lose(err));
    this.#connection.on("close", (err?: Error) => this.#lose(err ?? new Error("connection closed")));
    this.#channel = await this.#connection.createConfirmChannel();
    this.#channel.on("error", (err: Error) => this.#lose(err));
    // A forced close reaches the channel before the connection: let the connection's reason win.
    this.#channel.on("close", () => {
      this.#closed = true;
      setTimeout(() => this.#lose(new Error("channel closed")), 0);
    });
    await this.#channel.prefetch(o.prefetch);
    const queue = await declareTopology(this.#channel as Channel, o.topology);
    const { consumerTag } = await this.#channel.consume(queue, (m) => this.#deliver(m), { noAck: false });
    this.#consumerTag = consumerTag;
    if (o.metrics) {
      o.metrics.connected = true;
      o.metrics.connects++;
    }
    log.info("consuming", {
      url: redact(o.url),
      queue,
      exchange: o.topology.exchange,
      prefetch: o.prefetch,
      dry_run: !!o.dryRun,
    });
  }

  /** Resolves with the error when the connection is lost, undefined after a clean stop. */
  async run(): Promise<Error | undefined> {
    const signal = this.#o.signal;
    let onAbort = () => {};
    const stopped = new Promise<"stop">((resolve) => {
      onAbort = () => resolve("stop");
      if (signal.aborted) onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
    });
    const first = await Promise.race([this.#lostPromise, stopped]);
    signal.removeEventListener("abort", onAbort); // one listener per session, however many reconnects
    if (first !== "stop") return first;
    await this.#drain();
    return undefined;
  }

  /** Stop deliveries, let the batch in flight publish and ack, then close. */
  async #drain() {
    log.info("stopping: finishing the events in flight", { in_flight: this.#inFlight });
    try {
      if (this.#consumerTag && !this.#closed) await this.#channel!.cancel(this.#consumerTag);
    } catch (err) {
      log.warn("cannot cancel the consumer", { error: (err as Error).message });
    }
    const timeout = this.#o.drainTimeoutMs ?? 30_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = await Promise.race([
      this.#whenIdle().then(() => true),
      this.#lostPromise.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeout))),
    ]);
    clearTimeout(timer);
    // Anything still unacked goes back to the queue when the channel closes.
    log.info(done ? "drained" : "stopped with events unacked; the broker redelivers them", {
      in_flight: this.#inFlight,
    });
  }

  async dispose() {
    if (this.#o.metrics) this.#o.metrics.connected = false;
    this.#closed = true;
    this.#settled = true;
    // A channel error leaves the connection open: close both, whatever state they are in.
    try {
      await this.#channel?.close();
    } catch { /* already closed */ }
    try {
      await this.#connection?.close();
    } catch { /* already closed */ }
  }

  #lose(err: Error) {
    if (this.#settled) return;
    this.#settled = true;
    this.#closed = true;
    if (this.#o.metrics) this.#o.metrics.connected = false;
    this.#lost(err);
  }

  #whenIdle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #deliver(m: ConsumeMessage | null) {
    if (m === null) {
      this.#lose(new Error("the broker cancelled the consumer (queue deleted?)"));
      return;
    }
    const metrics = this.#o.metrics;
    this.#inFlight++;
    if (metrics) {
      metrics.inFlight++;
      metrics.consumed++;
      if (m.fields.redelivered) metrics.redelivered++;
    }
    const started = performance.now();
    this.#process(m).then((acked) => {
      if (acked && metrics) metrics.latency.observe((performance.now() - started) / 1000);
    }).catch((err) => {
      log.error("event not processed; the broker redelivers it", { error: (err as Error).message });
    }).finally(() => {
      this.#inFlight--;
      if (metrics) metrics.inFlight--;
      if (this.#inFlight === 0) { for (const f of this.#idle.splice(0)) f(); }
    });
  }

  /** Carries out the verdict on one delivery; true when it was acked. */
  async #process(m: ConsumeMessage): Promise<boolean> {
    const o = this.#o;
    const p = m.properties;
    const verdict = await o.handle({
      body: m.content,
      properties: {
        correlationId: p.correlationId,
        messageId: p.messageId,
        replyTo: p.replyTo,
        contentType: p.contentType,
        headers: p.headers,
      },
      exchange: m.fields.exchange,
      routingKey: m.fields.routingKey,
      redelivered: m.fields.redelivered,
    });
    if (this.#closed) return false; // this channel's deliveries come back from the broker
    const channel = this.#channel!;
    if (o.dryRun) {
      // A dry run watches: it publishes, dead-letters and requeues nothing, and acks every event.
      o.onDryRun?.(verdict);
      if (verdict.action !== "publish") {
        log.warn(
          verdict.action === "requeue"
            ? "model failed (dry run: not requeued)"
            : "poison event (dry run: not dead-lettered)",
          { code: verdict.code, reason: verdict.reason, message_id: m.properties.messageId },
        );
      }
      channel.ack(m);
      return true;
    }
    if (verdict.action === "requeue") {
      log.warn("model failed; event requeued", { code: verdict.code, reason: verdict.reason });
      channel.nack(m, false, true);
      if (o.metrics) o.metrics.requeued++;
      return false;
    }
    const out = verdict.action === "publish" ? verdict.messages : [verdict.message];
    try {
      await Promise.all(out.map((message) => this.#publish(message)));
    } catch (err) {
      if (this.#closed) return false;
      log.warn("publish not confirmed; event requeued", { error: (err as Error).message });
      channel.nack(m, false, true);
      return false;
    }
    if (this.#closed) return false;
    if (o.metrics) {
      if (verdict.action === "publish") o.metrics.published += out.length;
      else o.metrics.deadLettered++;
    }
    if (verdict.action === "dead-letter") {
      log.warn("event dead-lettered", {
        code: verdict.code,
        reason: verdict.reason,
        message_id: m.properties.messageId,
        dead_letter_exchange: o.topology.deadLetterExchange,
      });
    }
    channel.ack(m);
    return true;
  }

  #publish(message: OutgoingMessage): Promise<void> {
    const { body, properties } = message;
    return new Promise((resolve, reject) => {
      try {
        this.#channel!.publish(
          message.exchange,
          message.routingKey,
          Buffer.from(body.buffer, body.byteOffset, body.byteLength),
          {
            persistent: true,
            contentType: properties.contentType,
            correlationId: properties.correlationId,
            messageId: properties.messageId,
            replyTo: properties.replyTo,
            headers: properties.headers,
          },
          (
            err: unknown,
          ) => (err ? reject(err instanceof Error ? err : new Error("the broker nacked the publish")) : resolve()),
        );
      } catch (err) {
        reject(err);
      }
    });
  }
}

/** A failure that reconnecting cannot fix, as our error; undefined for the rest. */
function fatalError(err: unknown): Error | undefined {
  const e = err as { code?: unknown; message?: string };
  const message = e?.message ?? String(err);
  if (e?.code === ACCESS_REFUSED || /ACCESS[-_]REFUSED/i.test(message)) {
    return new AuthError(`The broker refused the credentials or the vhost: ${redact(message)}`, { cause: err });
  }
  if (e?.code === PRECONDITION_FAILED || e?.code === NOT_ALLOWED) {
    return new UsageError(`The broker rejected the topology: ${message}`, { cause: err });
  }
  return undefined;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
