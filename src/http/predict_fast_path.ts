/**
 * `POST /predict` and `POST /models/{name}/predict` answered before the
 * Hono app sees them. These are nearly all of a scoring service's requests,
 * and Hono's dispatch, context and Response assembly cost about as much as
 * scoring a ride: here the request takes the same envelope (request id,
 * API key, metrics, access log), the same answer (`rows_answer.ts`) and
 * the same error table (`failure_answer.ts`), in one function. Any other
 * request, or one of these paths in another spelling (a trailing slash, an
 * escaped model name, another method), is left to the app, which answers
 * it the same way.
 */
import type { RequestEnvelope } from "../serving/envelope.ts";
import type { DataPlane } from "../serving/data_plane.ts";
import type { BodyLimit } from "./read_json.ts";
import { failureAnswer } from "./failure_answer.ts";
import { rowsAnswer } from "./rows_answer.ts";

const PREDICT = "/predict";
const MODELS = "/models/";
const MODEL_ROUTE = "/models/:name/predict";
const JSON_TYPE = "application/json";
const JSON_ONLY = { headers: { "content-type": JSON_TYPE } };

/**
 * The fast path: a function answering the requests it takes, and returning undefined for the others.
 *
 * @example
 * ```ts
 * const fast = predictFastPath(plane, { maxBytes: 1_048_576 }, envelope, undefined);
 * const res = fast(request) ?? app.fetch(request);
 * ```
 */
export function predictFastPath(
  plane: DataPlane,
  limit: BodyLimit,
  envelope: RequestEnvelope,
  checkKey: ((authorization: string | null | undefined) => void) | undefined,
): (request: Request) => Promise<Response> | undefined {
  const answer = async (request: Request, path: string, route: string, name: string): Promise<Response> => {
    const start = performance.now();
    const headers = request.headers;
    const sent = headers.get("x-request-id");
    const requestId = envelope.start(sent);
    const labels = { requestId, model: "", modelVersion: "" };
    let response: Response;
    let code: string | undefined;
    try {
      checkKey?.(headers.get("authorization"));
      const json = await rowsAnswer(plane, limit, request, name, labels);
      // The id goes back when the client sent it (see RequestEnvelope.start): any header besides the content type
      // takes Deno's response off its fast path.
      response = new Response(
        json,
        requestId === sent ? { headers: { "content-type": JSON_TYPE, "x-request-id": requestId } } : JSON_ONLY,
      );
    } catch (err) {
      const failure = failureAnswer(envelope, err, requestId);
      code = failure.code;
      const out = new Headers(failure.headers);
      out.set("content-type", JSON_TYPE);
      out.set("x-request-id", requestId);
      response = new Response(JSON.stringify(failure.body), { status: failure.status, headers: out });
    }
    envelope.done({
      protocol: "rest",
      requestId,
      method: "POST",
      path,
      route,
      model: labels.model,
      version: labels.modelVersion,
      status: response.status,
      code,
      seconds: (performance.now() - start) / 1000,
    });
    return response;
  };
  return (request) => {
    if (request.method !== "POST") return undefined;
    const url = request.url;
    // The path as Hono reads it: from the first "/" after the scheme's "//" to the query.
    const from = url.indexOf("/", url.indexOf("://") + 3);
    if (from < 0) return undefined;
    const query = url.indexOf("?", from);
    const path = query < 0 ? url.slice(from) : url.slice(from, query);
    if (path === PREDICT) return answer(request, path, PREDICT, plane.defaultModel);
    if (path.startsWith(MODELS) && path.endsWith(PREDICT)) {
      const name = path.slice(MODELS.length, path.length - PREDICT.length);
      // An escaped name is the app's to decode, as it always has.
      if (name === "" || name.includes("/") || name.includes("%")) return undefined;
      return answer(request, path, MODEL_ROUTE, name);
    }
    return undefined;
  };
}
