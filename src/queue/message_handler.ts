/**
 * The pure side of `score consume` (after MLServer's kafka `handlers.py`
 * vs `server.py` split): one event's body and properties in, a
 * {@linkcode Verdict} out. No AMQP client here, so every rule about
 * messages is tested without a broker; the amqplib loop only carries out
 * verdicts.
 */
import { strictUtf8 } from "../strict_utf8.ts";
import { describeError, InputError } from "../errors.ts";
import type { Prediction } from "../model/mod.ts";
import { jsonText, parseJson } from "../value_codec.ts";
import { type JsonOutput, predictionJson } from "../serving/prediction_json.ts";
import { dotPath } from "./dot_path.ts";
import type {
  EventMessage,
  MessageProperties,
  OutgoingMessage,
  PredictionRecord,
  PublishFailure,
  Verdict,
} from "./message.ts";

/** What scores the features: the shared `Batcher` (anything with its `predict`). */
export interface Scorer {
  predict(columns: Record<string, ArrayLike<unknown>>, length: number): Promise<Prediction>;
}

/** The model that labels a prediction: its name and version (the record's `model` / `version`) and its outputs. */
export interface ServedLabel {
  name: string;
  version: string;
  outputs: readonly JsonOutput[];
}

/** A model version and the batcher in front of it, as the data plane serves them (`DataPlane.served`). */
export interface Serving {
  batcher: Scorer;
  model: ServedLabel;
}

/** How events are read and predictions addressed. */
export interface MessageHandlerOptions {
  /**
   * What serves now, asked once per event (the data plane's `served`): a reload swaps it there, and an event is
   * scored and labelled by the version it started with.
   */
  served: () => Serving;
  /** Dot path of the features object in the body; "" for the body itself. */
  featuresPath: string;
  /** Dot path of the event's id; "" for none. Its last segment names the id in the prediction. */
  idPath: string;
  predictionExchange: string;
  /** Routing key of every prediction (the model name by default, set by the caller). */
  routingKey: string;
  deadLetterExchange: string;
  /** Routing key of dead letters (the model's queue name, so each model has its own dead-letter queue). */
  deadLetterRoutingKey: string;
}

/** Header names this handler writes. */
export const HEADERS = {
  model: "x-score-model",
  version: "x-score-model-version",
  reason: "x-score-reason",
  code: "x-score-error-code",
  exchange: "x-score-original-exchange",
  routingKey: "x-score-original-routing-key",
  /** A dead letter's copy of the event's `expiration` and `user_id` (left off the dead letter itself). */
  expiration: "x-score-original-expiration",
  userId: "x-score-original-user-id",
} as const;

/** The longest AMQP short string (a property such as `correlation_id`), in bytes. */
export const MAX_SHORT_STRING_BYTES = 255;

/**
 * The prediction's correlation id made from the event's id: a string as
 * it is, anything else as its JSON text; none when it is longer than an
 * AMQP short string allows (the id is in the body anyway).
 */
function correlationIdOf(id: unknown): string | undefined {
  if (id === undefined || id === null) return undefined;
  const text = typeof id === "string" ? id : jsonText(id);
  return encoder.encode(text).byteLength <= MAX_SHORT_STRING_BYTES ? text : undefined;
}

const decoder = strictUtf8();
const encoder = new TextEncoder();

/**
 * Turns events into verdicts: a prediction for the prediction exchange (and
 * the event's `reply_to`), a dead letter for a poison event, or a requeue
 * when the model itself failed for the first time.
 *
 * @example
 * ```ts
 * const handler = new MessageHandler({ served: () => plane.served(model.name), featuresPath: "ride", idPath: "ride_id",
 *   predictionExchange: "predictions", routingKey: model.name,
 *   deadLetterExchange: "rides.dead-letter", deadLetterRoutingKey: "ride-duration-linreg.rides" });
 * const verdict = await handler.handle(event); // { action: "publish", record, messages }
 * ```
 */
export class MessageHandler {
  readonly #options: MessageHandlerOptions;
  readonly #idKey: string;

  constructor(options: MessageHandlerOptions) {
    this.#options = options;
    this.#idKey = options.idPath.split(".").at(-1) ?? "";
  }

  /** Decides what becomes of one event. Never throws. */
  async handle(event: EventMessage): Promise<Verdict> {
    const serving = this.#options.served();
    try {
      const { features, id } = this.#read(event.body);
      const columns: Record<string, unknown[]> = {};
      for (const key of Object.keys(features)) columns[key] = [features[key]];
      const p = await serving.batcher.predict(columns, 1);
      if (p.rejects.length > 0 || (p.rows !== null && p.rows.length === 0)) {
        throw new InputError(p.rejects[0]?.message ?? "the features could not be scored", { code: "invalid_features" });
      }
      return this.#prediction(serving.model, event.properties, p, id);
    } catch (err) {
      return this.#failure(event, err, serving.model);
    }
  }

  #read(body: Uint8Array): { features: Record<string, unknown>; id: unknown } {
    let text: string;
    try {
      text = decoder(body);
    } catch {
      // Decoded leniently, its text would be scored with U+FFFD in place of what was sent.
      throw new InputError("the body is not UTF-8 text", { code: "not_utf8" });
    }
    let parsed: unknown;
    try {
      parsed = parseJson(text);
    } catch (err) {
      throw new InputError(`the body is not JSON: ${(err as Error).message}`, { code: "not_json" });
    }
    const features = dotPath(parsed, this.#options.featuresPath);
    if (typeof features !== "object" || features === null || Array.isArray(features)) {
      const where = this.#options.featuresPath === "" ? "the body" : `"${this.#options.featuresPath}"`;
      throw new InputError(`${where} is not a JSON object of features`, { code: "missing_features" });
    }
    return {
      features: features as Record<string, unknown>,
      id: this.#options.idPath === "" ? undefined : dotPath(parsed, this.#options.idPath),
    };
  }

  #prediction(
    model: ServedLabel,
    properties: MessageProperties,
    p: Prediction,
    id: unknown,
  ): Verdict {
    const prediction = predictionJson(model.outputs, p.columns, 0);
    if (id !== undefined) prediction[this.#idKey] = id;
    const record: PredictionRecord = { model: model.name, version: model.version, prediction };
    const body = encoder.encode(jsonText(record));
    const correlationId = properties.correlationId ?? properties.messageId ?? correlationIdOf(id);
    // No headers: the model and its version are in the body (and the model in the routing key), and a header table
    // costs the broker and the worker on every message (bench/NOTES.md).
    const out: MessageProperties = { contentType: "application/json", correlationId };
    const messages: OutgoingMessage[] = [
      { exchange: this.#options.predictionExchange, routingKey: this.#options.routingKey, body, properties: out },
    ];
    // Request/reply: the default exchange routes a queue's own name to it.
    if (properties.replyTo) messages.push({ exchange: "", routingKey: properties.replyTo, body, properties: out });
    if (correlationId === undefined && id === undefined && this.#options.idPath !== "") {
      return { action: "publish", record, messages, uncorrelated: true };
    }
    return { action: "publish", record, messages };
  }

  /**
   * The verdict for an event whose verdict could not be published: the
   * client refused a message (a property it cannot encode), or the broker
   * returned the prediction because no queue is bound for it. Either is
   * dead-lettered with the reason: publishing again would fail the same way.
   */
  publishFailed(event: EventMessage, failure: PublishFailure): Verdict {
    const err = failure.kind === "refused"
      ? new InputError(`the prediction could not be published: ${failure.error}`, { code: "unpublishable" })
      : new InputError(`unroutable: no queue bound to ${failure.exchange} for ${failure.routingKey}`, {
        code: "unroutable",
      });
    return this.#failure(event, err);
  }

  /**
   * The one place a failure becomes a verdict: bad data (a 4xx failure) is
   * poison and dead-lettered at once; the model or its batcher failing (5xx)
   * requeues, but an event that was delivered before is dead-lettered, so
   * a failure that repeats cannot loop forever. 503 (overloaded) always requeues.
   */
  #failure(event: EventMessage, err: unknown, model = this.#options.served().model): Verdict {
    const { code, status, message } = describeError(err);
    if (status === 503 || (status >= 500 && !event.redelivered)) return { action: "requeue", code, reason: message };
    const reason = status >= 500 ? `${message} (failed again after a requeue)` : message;
    return {
      action: "dead-letter",
      code,
      reason,
      message: {
        exchange: this.#options.deadLetterExchange,
        routingKey: this.#options.deadLetterRoutingKey,
        body: event.body,
        // Every property of the event, except two that would change what happens to the dead letter:
        // `expiration` would let it expire in the dead-letter queue, `user_id` must name the worker's own
        // broker user. Both are kept in headers.
        properties: {
          ...event.properties,
          expiration: undefined,
          userId: undefined,
          headers: {
            ...event.properties.headers,
            ...(event.properties.expiration !== undefined ? { [HEADERS.expiration]: event.properties.expiration } : {}),
            ...(event.properties.userId !== undefined ? { [HEADERS.userId]: event.properties.userId } : {}),
            [HEADERS.reason]: reason,
            [HEADERS.code]: code,
            [HEADERS.model]: model.name,
            [HEADERS.version]: model.version,
            [HEADERS.exchange]: event.exchange,
            [HEADERS.routingKey]: event.routingKey,
          },
        },
      },
    };
  }
}
