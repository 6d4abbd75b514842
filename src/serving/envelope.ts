/**
 * What wraps every request, whichever transport brought it (REST, gRPC):
 * its id, the request metrics (with a `protocol` label), the access log
 * line, and the transport-neutral part of a failure: a bug is logged with
 * its stack and answered redacted, a refusal is counted by reason, a client
 * that went away is logged at info. Each transport then maps the failure to
 * its own status in one table (`onError` in `src/http/create_app.ts`,
 * `src/grpc/status.ts`).
 */
import { ClientClosedError, describeError, type Failure, UnavailableError } from "../errors.ts";
import { log } from "../log.ts";
import type { AccessLog } from "./access_log.ts";
import type { DataPlane } from "./data_plane.ts";
import type { Metrics } from "./metrics.ts";
import { unknownCategoriesCounter } from "../metrics/mod.ts";

/** An incoming request id is echoed only if it is short and printable, so logs stay clean. */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** The transport a request came by. */
export type Protocol = "rest" | "grpc";

/** One answered request, as the metrics and the access log take it. */
export interface Answered {
  protocol: Protocol;
  requestId: string;
  method: string;
  path: string;
  /** The route pattern (REST) or the method's full name (gRPC). */
  route: string;
  /** Empty when the request named no (known) model. */
  model: string;
  /** The model version that scored it, or "". */
  version: string;
  /** An HTTP status, or a gRPC code name. */
  status: number | string;
  /** The failure's code, for a request that failed. */
  code?: string;
  seconds: number;
}

/** A failure read for answering: what to say, and whether it was the client leaving. */
export interface Refusal {
  failure: Failure;
  /** The message to send: the failure's, or for a bug a line pointing at the log. */
  message: string;
  /** For a full queue: when to retry. */
  retryAfterSeconds?: number;
}

/**
 * The request envelope over one set of metrics and one access log.
 *
 * @example
 * ```ts
 * const envelope = new RequestEnvelope(metrics, new AccessLog());
 * const requestId = envelope.start(headers.get("x-request-id"));
 * // ... answer ...
 * envelope.done({ protocol: "rest", requestId, method, path, route, model, version, status: 200, seconds });
 * ```
 */
export class RequestEnvelope {
  readonly metrics: Metrics;
  readonly #accessLog: AccessLog | false;

  constructor(metrics: Metrics, accessLog: AccessLog | false) {
    this.metrics = metrics;
    this.#accessLog = accessLog;
  }

  /**
   * Counts a request in flight and returns its id: the caller's when it is clean, else a new one.
   *
   * Over REST the id goes back in `X-Request-Id` when the caller sent it (a client tracing its calls) and on every
   * error answer (the id finds the server's log line); a success to a caller who sent none carries none: any header
   * besides the content type takes Deno's responses off their fast path (bench/NOTES.md has the price), for an id
   * nobody asked for. gRPC always sends it in its response headers, which it sends anyway.
   */
  start(incoming: string | undefined | null): string {
    this.metrics.requestStarted();
    return incoming != null && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
  }

  /** Counts a started request as answered, in the metrics and the access log. */
  done(a: Answered): void {
    this.metrics.requestDone();
    this.metrics.observeRequest(a.model, a.route, a.status, a.seconds, a.version, a.protocol);
    if (this.#accessLog) {
      this.#accessLog.write({
        requestId: a.requestId,
        method: a.method,
        path: a.path,
        route: a.route,
        model: a.model,
        status: a.status,
        latencyMs: Math.round(a.seconds * 1e6) / 1000,
        code: a.code,
        protocol: a.protocol === "rest" ? undefined : a.protocol,
      });
    }
  }

  /** Reads a failure: logs a bug (or a client gone), counts a refusal, redacts what is ours to keep. */
  refuse(err: unknown, requestId: string): Refusal {
    const failure = describeError(err);
    const unavailable = err instanceof UnavailableError;
    const bug = failure.status >= 500 && !unavailable;
    if (bug) {
      log.error("request failed", {
        request_id: requestId,
        code: failure.code,
        error: failure.message,
        stack: (err as Error)?.stack,
      });
    }
    if (err instanceof ClientClosedError) {
      // Nobody is waiting for the answer, and nothing is wrong here: logged at info.
      log.info("client closed the request", { request_id: requestId, error: failure.message });
    } else if (unavailable) this.metrics.reject("queue_full");
    else if (failure.status === 413) this.metrics.reject("body_too_large");
    else if (failure.status === 401) this.metrics.reject("unauthorized");
    // A 500 is our bug, not the caller's: its details stay in the log.
    const message = bug ? `Internal error while handling request ${requestId}; see the server log` : failure.message;
    return { failure, message, retryAfterSeconds: unavailable ? err.retryAfterSeconds : undefined };
  }
}

/**
 * The data plane's metrics on /metrics: rows per model run, rows queued per model, the models and versions served,
 * the unknown categories they met.
 *
 * @example
 * ```ts
 * observePlane(metrics, plane);
 * ```
 */
export function observePlane(metrics: Metrics, plane: DataPlane): void {
  plane.onBatch((model, rows, version) => metrics.observeBatch(model, rows, version));
  metrics.addGauge({
    name: "score_queue_rows",
    help: "Rows waiting for a model run, by model.",
    labelNames: ["model"],
    read: () => plane.queuedRows().map(({ model, rows }) => ({ labels: { model }, value: rows })),
  });
  metrics.addGauge({
    name: "score_model_info",
    help: "The loaded models and their versions.",
    labelNames: ["model", "version"],
    read: () => plane.models.map((m) => ({ labels: { model: m.name, version: m.version }, value: 1 })),
  });
  unknownCategoriesCounter(metrics.registry, () => plane.models);
}
