/**
 * The gRPC side of the error table: every failure carries an HTTP status
 * (src/errors.ts); this is the one place it becomes a gRPC status code, the
 * codes Triton and KServe answer with. The message is the same text REST
 * sends (a bug's redacted to a line pointing at the log).
 *
 * | HTTP | gRPC | when |
 * | --- | --- | --- |
 * | 400, 405, 415, 422 | INVALID_ARGUMENT | bad input, naming the tensor or row |
 * | 401 | UNAUTHENTICATED | no or wrong API key |
 * | 404 | NOT_FOUND | unknown model or version |
 * | 413 | RESOURCE_EXHAUSTED | message over the size limit |
 * | 499 | CANCELLED | the client went away |
 * | 503 | UNAVAILABLE | the model's queue is full (retry) |
 * | 500 and any other | INTERNAL | a bug: see the server log |
 */
import { STATUS } from "./grpc_js.ts";

const BY_HTTP: Readonly<Record<number, number>> = {
  400: STATUS.INVALID_ARGUMENT,
  405: STATUS.INVALID_ARGUMENT,
  415: STATUS.INVALID_ARGUMENT,
  422: STATUS.INVALID_ARGUMENT,
  401: STATUS.UNAUTHENTICATED,
  404: STATUS.NOT_FOUND,
  413: STATUS.RESOURCE_EXHAUSTED,
  499: STATUS.CANCELLED,
  503: STATUS.UNAVAILABLE,
};

/**
 * The gRPC status code of a failure's HTTP status.
 *
 * @example
 * ```ts
 * grpcCode(404); // 5 (NOT_FOUND)
 * ```
 */
export function grpcCode(httpStatus: number): number {
  return BY_HTTP[httpStatus] ?? STATUS.INTERNAL;
}

const NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(STATUS).filter(([, v]) => typeof v === "number").map(([k, v]) => [v, k]),
);

/**
 * A code's name, as the metrics and the access log label a gRPC call.
 *
 * @example
 * ```ts
 * codeName(0); // "OK"
 * ```
 */
export function codeName(code: number): string {
  return NAMES[code] ?? String(code);
}
