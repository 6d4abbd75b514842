/**
 * The REST side of the error table, written once for the Hono app's
 * `onError` and for the `/predict` fast path (`predict_fast_path.ts`): a
 * failure read by the envelope (logged, counted, redacted) becomes the
 * failure's own HTTP status, a JSON body `{error, code}` and the headers a
 * client needs (`Retry-After` for a full queue, `WWW-Authenticate` for a
 * missing key).
 */
import type { RequestEnvelope } from "../serving/envelope.ts";

/** What a failed request is answered with. */
export interface FailureAnswer {
  status: number;
  /** The failure's code (for the access log and the body). */
  code: string;
  /** The JSON body. */
  body: { error: string; code: string };
  /** Headers besides the content type and request id. */
  headers: [string, string][];
}

/**
 * Reads `err` through the envelope and says how to answer it.
 *
 * @example
 * ```ts
 * const { status, body, headers } = failureAnswer(envelope, err, requestId);
 * ```
 */
export function failureAnswer(envelope: RequestEnvelope, err: unknown, requestId: string): FailureAnswer {
  const { failure, message, retryAfterSeconds } = envelope.refuse(err, requestId);
  const headers: [string, string][] = [];
  if (retryAfterSeconds !== undefined) headers.push(["Retry-After", String(Math.max(1, Math.ceil(retryAfterSeconds)))]);
  if (failure.status === 401) headers.push(["WWW-Authenticate", `Bearer realm="score"`]);
  return { status: failure.status, code: failure.code, body: { error: message, code: failure.code }, headers };
}
