/**
 * The amqplib side of `score consume` (MLServer's `server.py` to the
 * handler's `handlers.py`): connect, declare the topology, consume on a
 * confirm channel with a prefetch, carry out each verdict, ack only after
 * the broker confirmed what the verdict published, reconnect with backoff
 * when the connection or channel is lost, and drain on stop.
 */
import { Buffer } from "node:buffer";
import {
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  connect,
  type ConsumeMessage,
  type SocketOptions,
} from "amqplib";
import { abortable, settleWithin } from "../abortable.ts";
import { log, redact } from "../log.ts";
import { AckWindow } from "./ack_window.ts";
import { brokerError } from "./broker_error.ts";
import type { ConsumerMetrics } from "./consumer_metrics.ts";
import type { EventMessage, MessageProperties, OutgoingMessage, PublishFailure, Verdict } from "./message.ts";
import { declareTopology, type Topology } from "./topology.ts";
import { batchWrites, destroySocket } from "./amqplib_internals.ts";

/** What the loop needs. */
export interface ConsumerLoopOptions {
  url: string;
  topology: Topology;
  /** Unacked events the broker may hand this consumer at once. */
  prefetch: number;
  /** The pure message handler. */
  handle(event: EventMessage): Promise<Verdict>;
  /**
   * The verdict (a dead letter) for an event whose prediction could not be
   * published: the client refused it, or the broker returned it as unroutable.
   */
  publishFailed(event: EventMessage, failure: PublishFailure): Verdict;
  /**
   * How long an event waits before it is requeued because the broker nacked
   * (or returned) what its verdict published, e.g. a full queue: requeued at
   * once, it would come straight back and fail again in a tight loop.
   */
  retryDelayMs?: number;
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
  /** How long a broker may stay silent while a connection opens before it is retried (10 s). */
  openTimeoutMs?: number;
  /** Shown by `rabbitmqctl list_connections client_properties`. */
  connectionName?: string;
  /** Each flag naming an exchange, and the name given: a refused name is reported with its flag. */
  exchangeFlags?: Record<string, string | undefined>;
}

/** How long a broker may stay silent while a connection opens (then it is retried). */
const OPEN_TIMEOUT_MS = 10_000;
/** How long a closing connection waits for the broker's answer before its socket is dropped. */
const CLOSE_TIMEOUT_MS = 2_000;

/**
 * Each message the loop publishes has a publish id, unique to it: a
 * `basic.return` (which arrives before the publish's ack) is matched to its
 * publish by it. A prediction carries it as its `message_id` (it has none of
 * its own): a header table costs the broker more on every message (see
 * bench/NOTES.md). A dead letter, which keeps the event's `message_id`,
 * carries it in this header.
 */
export const PUBLISH_ID_HEADER = "x-score-publish-id";

/** Where a message carries its publish id (see {@linkcode PUBLISH_ID_HEADER}). */
type PublishIdIn = "message_id" | "header";

/** What became of one publish. */
type Outcome =
  | { kind: "confirmed" }
  | { kind: "nacked"; error: string }
  | { kind: "returned"; exchange: string; routingKey: string; reply: string }
  | { kind: "refused"; error: string };

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
    const session = new BrokerSession(o);
    try {
      // A broker that accepts the connection and then says nothing must not hold a stop.
      await abortable(session.open(), o.signal);
      attempt = 0;
      const lost = await session.run();
      if (lost === undefined) return;
      log.warn("connection to the broker lost; reconnecting", { error: lost.message });
    } catch (err) {
      if (o.signal.aborted) return;
      const fatal = brokerError(err, o.exchangeFlags);
      if (fatal) throw fatal;
      log.warn("cannot reach the broker; retrying", { url: redact(o.url), error: (err as Error).message, attempt });
    } finally {
      await session.dispose();
    }
    const delay = Math.min(max, initial * 2 ** attempt++) * (0.8 + 0.4 * Math.random());
    await sleep(delay, o.signal);
  }
}

/** One AMQP connection's life (with the broker, not a model's session): open, consume, lose it or stop. */
class BrokerSession {
  readonly #options: ConsumerLoopOptions;
  #connection?: ChannelModel;
  #channel?: ConfirmChannel;
  /** The channel's acks, sent a tick's worth at a time. */
  #acks?: AckWindow<ConsumeMessage>;
  #consumerTag?: string;
  /** The channel can no longer ack or publish. */
  #closed = false;
  /** Lost or disposed: nothing more to report. */
  #settled = false;
  #inFlight = 0;
  #idle: (() => void)[] = [];
  /** Deliveries acked or nacked (or about to be, by the ack window). */
  readonly #settledEvents = new WeakSet<ConsumeMessage>();
  /** Publishes so far (the next publish id's counter). */
  #published = 0;
  /**
   * The publish ids' prefix, random: as a prediction's `message_id`, the id is unique beyond this process, so that
   * a reader that drops repeated message ids never takes two predictions for one.
   */
  readonly #publishPrefix = `${crypto.randomUUID()}.`;
  /** Returned messages by publish id, until their ack arrives. */
  readonly #returned = new Map<string, { exchange: string; routingKey: string; reply: string }>();
  #lost!: (err: Error) => void;
  readonly #lostPromise = new Promise<Error>((resolve) => (this.#lost = resolve));

  constructor(o: ConsumerLoopOptions) {
    this.#options = o;
  }

  async open() {
    const o = this.#options;
    // A stop while the connection opens destroys its socket (amqplib hands these options to node:net, whose sockets
    // take a signal); once open, a stop drains and closes it instead.
    const opening = new AbortController();
    const stop = () => opening.abort();
    o.signal.addEventListener("abort", stop, { once: true });
    const options: SocketOptions & { signal: AbortSignal } = {
      clientProperties: { connection_name: o.connectionName ?? "score consume" },
      // TCP_NODELAY: an event's ack leaves as a small segment, and the next event's prediction (a few ms later,
      // after its model run) would wait behind it for the broker's delayed TCP ack, 40 ms on Linux. amqplib
      // already writes the frames of one tick together, so this adds no packets under load.
      noDelay: true,
      // A broker silent this long while the connection opens is given up on (and retried): else it waits for ever.
      timeout: o.openTimeoutMs ?? OPEN_TIMEOUT_MS,
      signal: opening.signal,
    };
    let connection: ChannelModel;
    try {
      connection = await connect(o.url, options);
    } finally {
      o.signal.removeEventListener("abort", stop);
    }
    if (this.#settled) {
      // Disposed while connecting (a stop): this connection is nobody's.
      destroySocket(connection);
      throw new Error("stopped while connecting");
    }
    this.#connection = connection;
    // With TCP_NODELAY, each frame written alone would be a segment of its own: the frames of one pass go together.
    if (!batchWrites(this.#connection)) log.debug("amqplib's writes are not batched: its internals changed");
    this.#connection.on("error", (err: Error) => this.#lose(err));
    this.#connection.on("close", (err?: Error) => this.#lose(err ?? new Error("connection closed")));
    this.#channel = await this.#connection.createConfirmChannel();
    this.#acks = new AckWindow<ConsumeMessage>(this.#channel);
    this.#channel.on("error", (err: Error) => this.#lose(err));
    // A forced close reaches the channel before the connection: let the connection's reason win.
    this.#channel.on("close", () => {
      this.#closed = true;
      this.#acks?.close();
      setTimeout(() => this.#lose(new Error("channel closed")), 0);
    });
    // Every publish is mandatory: what no queue is bound for comes back here, before the publish's ack.
    this.#channel.on("return", (m: ConsumeMessage) => {
      const id = m.properties.headers?.[PUBLISH_ID_HEADER] ?? m.properties.messageId;
      const f = m.fields as unknown as { exchange: string; routingKey: string; replyCode?: number; replyText?: string };
      if (id !== undefined) {
        this.#returned.set(String(id), {
          exchange: f.exchange,
          routingKey: f.routingKey,
          reply: `${f.replyCode ?? ""} ${f.replyText ?? ""}`.trim(),
        });
      }
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
    const signal = this.#options.signal;
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
    const timeout = this.#options.drainTimeoutMs ?? 30_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = await Promise.race([
      this.#whenIdle().then(() => true),
      this.#lostPromise.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeout))),
    ]);
    clearTimeout(timer);
    if (!this.#closed) this.#acks?.flush();
    // Anything still unacked goes back to the queue when the channel closes.
    log.info(done ? "drained" : "stopped with events unacked; the broker redelivers them", {
      in_flight: this.#inFlight,
    });
  }

  async dispose() {
    if (this.#options.metrics) this.#options.metrics.connected = false;
    if (!this.#closed) this.#acks?.flush();
    this.#acks?.close();
    this.#closed = true;
    this.#settled = true;
    // A channel error leaves the connection open: close both, whatever state they are in. A broker that does not
    // answer the close (hung, or blocking this connection) is let go.
    const closing = (async () => {
      try {
        await this.#channel?.close();
      } catch { /* already closed */ }
      try {
        await this.#connection?.close();
      } catch { /* already closed */ }
      return true;
    })();
    if (!(await settleWithin(closing, CLOSE_TIMEOUT_MS)) && this.#connection) {
      log.warn("the broker did not answer the close: dropping the connection", { timeout_ms: CLOSE_TIMEOUT_MS });
      destroySocket(this.#connection);
    }
  }

  #lose(err: Error) {
    if (this.#settled) return;
    this.#settled = true;
    this.#closed = true;
    this.#acks?.close();
    if (this.#options.metrics) this.#options.metrics.connected = false;
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
    const metrics = this.#options.metrics;
    this.#acks!.delivered(m);
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
      // Not left unsettled on a live channel (the broker would hold it, and with it a prefetch slot, for ever):
      // requeued once, then rejected (the queue's own dead-lettering, if any, takes it), so a fault that repeats
      // cannot loop.
      const requeue = !m.fields.redelivered;
      // While stopping (a closed standard output stops a dry run), an event given back is what a stop does.
      (this.#options.signal.aborted ? log.debug : log.error)(
        requeue ? "event not processed; requeued" : "event not processed again; rejected",
        { error: (err as Error)?.message ?? String(err), message_id: m.properties.messageId },
      );
      if (!this.#closed && !this.#settledEvents.has(m)) this.#nack(m, requeue);
    }).finally(() => {
      this.#inFlight--;
      if (metrics) metrics.inFlight--;
      if (this.#inFlight === 0) { for (const f of this.#idle.splice(0)) f(); }
    });
  }

  /** Carries out the verdict on one delivery; true when it was acked. */
  async #process(m: ConsumeMessage): Promise<boolean> {
    const o = this.#options;
    const p = m.properties;
    const event: EventMessage = {
      body: m.content,
      // amqplib's properties are the AMQP basic properties, by the same names: taken as they are (never changed).
      properties: p as MessageProperties,
      exchange: m.fields.exchange,
      routingKey: m.fields.routingKey,
      redelivered: m.fields.redelivered,
    };
    let verdict = await o.handle(event);
    if (this.#closed) return false; // this channel's deliveries come back from the broker
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
      this.#ack(m);
      return true;
    }
    if (verdict.action === "requeue") {
      log.warn("model failed; event requeued", { code: verdict.code, reason: verdict.reason });
      this.#nack(m, true);
      if (o.metrics) o.metrics.requeued++;
      return false;
    }
    if (verdict.action === "publish") {
      const [prediction, ...replies] = await Promise.all(
        verdict.messages.map((message) => this.#publish(message, "message_id")),
      );
      if (this.#closed) return false;
      // A reply that fails (reply_to naming no queue, say) does not fail the event: the prediction exchange's
      // copy was delivered. It is logged and counted.
      replies.forEach((r, i) => {
        if (r.kind === "confirmed") return;
        if (o.metrics) o.metrics.repliesFailed++;
        log.warn("reply not delivered", {
          reply_to: verdict.action === "publish" ? verdict.messages[i + 1]?.routingKey : undefined,
          outcome: r.kind,
          error: r.kind === "returned" ? r.reply : r.error,
          message_id: m.properties.messageId,
        });
      });
      if (prediction.kind === "nacked") return await this.#retryLater(m, `prediction nacked: ${prediction.error}`);
      if (prediction.kind === "confirmed") {
        if (o.metrics) o.metrics.published += 1 + replies.filter((r) => r.kind === "confirmed").length;
        this.#ack(m);
        return true;
      }
      if (prediction.kind === "returned" && o.metrics) o.metrics.predictionsUnroutable++;
      verdict = o.publishFailed(
        event,
        prediction.kind === "returned"
          ? { kind: "unroutable", exchange: prediction.exchange, routingKey: prediction.routingKey }
          : { kind: "refused", error: prediction.error },
      );
      if (verdict.action !== "dead-letter") return await this.#retryLater(m, "prediction not published");
    }
    return await this.#deadLetter(m, verdict);
  }

  /** Publishes a dead letter, acks once it is confirmed. */
  async #deadLetter(m: ConsumeMessage, verdict: Verdict & { action: "dead-letter" }): Promise<boolean> {
    const o = this.#options;
    let outcome = await this.#publish(verdict.message, "header");
    if (outcome.kind === "refused") {
      // The event's own properties are what the client refused: send the body with the reason headers only.
      log.warn("dead letter refused by the client; sending it without the event's properties", {
        error: outcome.error,
      });
      const headers = Object.fromEntries(
        Object.entries(verdict.message.properties.headers ?? {}).filter(([k]) => k.startsWith("x-score-")),
      );
      outcome = await this.#publish({ ...verdict.message, properties: { headers } }, "header");
    }
    if (this.#closed) return false;
    if (outcome.kind === "nacked" || outcome.kind === "returned") {
      return await this.#retryLater(
        m,
        outcome.kind === "nacked"
          ? `dead letter nacked: ${outcome.error}`
          : `dead letter unroutable: no queue bound to ${outcome.exchange} for ${outcome.routingKey}`,
      );
    }
    if (outcome.kind === "refused") {
      // Nothing can carry it: reject it (the queue's own dead-lettering, if any, takes it) rather than loop.
      log.error("event rejected: not even a bare dead letter could be published", {
        code: verdict.code,
        reason: verdict.reason,
        error: outcome.error,
        message_id: m.properties.messageId,
      });
      this.#nack(m, false);
      return false;
    }
    if (o.metrics) o.metrics.deadLettered++;
    log.warn("event dead-lettered", {
      code: verdict.code,
      reason: verdict.reason,
      message_id: m.properties.messageId,
      dead_letter_exchange: verdict.message.exchange,
    });
    this.#ack(m);
    return true;
  }

  /** Acks at the end of the tick (the ack window's), and marks it settled. */
  #ack(m: ConsumeMessage) {
    this.#settledEvents.add(m);
    this.#acks!.ack(m);
  }

  /** Nacks now, and tells the ack window to pass over it. */
  #nack(m: ConsumeMessage, requeue: boolean) {
    this.#settledEvents.add(m);
    this.#acks!.forget(m);
    this.#channel!.nack(m, false, requeue);
  }

  /** The broker did not take what the verdict published: wait, then requeue the event. */
  async #retryLater(m: ConsumeMessage, reason: string): Promise<boolean> {
    const o = this.#options;
    const delay = o.retryDelayMs ?? 1000;
    log.warn("publish not confirmed; event requeued after a delay", {
      reason,
      delay_ms: delay,
      message_id: m.properties.messageId,
    });
    if (o.metrics) o.metrics.publishRetried++;
    await sleep(delay, o.signal);
    if (this.#closed) return false;
    this.#nack(m, true);
    if (o.metrics) o.metrics.requeued++;
    return false;
  }

  /** Publishes one message, persistent and mandatory, and tells what became of it. Never rejects. */
  #publish(message: OutgoingMessage, idIn: PublishIdIn): Promise<Outcome> {
    const { body, properties } = message;
    const id = this.#publishPrefix + ++this.#published;
    return new Promise((resolve) => {
      try {
        this.#channel!.publish(
          message.exchange,
          message.routingKey,
          Buffer.from(body.buffer, body.byteOffset, body.byteLength),
          publishOptions(properties, id, idIn),
          (err: unknown) => {
            const returned = this.#returned.size === 0 ? undefined : this.#returned.get(id);
            if (returned) this.#returned.delete(id);
            if (err) {
              resolve({ kind: "nacked", error: err instanceof Error ? err.message : "the broker nacked the publish" });
            } else if (returned) resolve({ kind: "returned", ...returned });
            else resolve(CONFIRMED);
          },
        );
      } catch (err) {
        // amqplib throws before sending for a message it cannot encode (a correlation id over 255 bytes, ...).
        resolve({ kind: "refused", error: err instanceof Error ? err.message : String(err) });
      }
    });
  }
}

const CONFIRMED: Outcome = { kind: "confirmed" };

/** amqplib's publish options for `properties`: every property, persistent, mandatory, and the publish id where `idIn` says. */
function publishOptions(p: MessageProperties, id: string, idIn: PublishIdIn) {
  const options: Record<string, unknown> = {
    // Always persistent: a prediction or dead letter must survive a broker restart.
    persistent: true,
    mandatory: true,
    headers: idIn === "header" ? { ...p.headers, [PUBLISH_ID_HEADER]: id } : p.headers,
  };
  for (const key of CARRIED) if (p[key] !== undefined) options[key] = p[key];
  if (idIn === "message_id") options.messageId = id;
  return options;
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

/** The basic properties an event brings and a prediction or dead letter carries on (headers are set apart). */
const CARRIED = [
  "contentType",
  "contentEncoding",
  "priority",
  "correlationId",
  "replyTo",
  "expiration",
  "messageId",
  "timestamp",
  "type",
  "userId",
  "appId",
] as const;
