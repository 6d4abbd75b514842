/**
 * The HTTP app of `score serve`: it maps HTTP to the data plane
 * (`src/serving/data_plane.ts`). The course-shaped `/predict` routes and the
 * Open Inference Protocol v2 routes are two small apps mounted here; this
 * file adds what wraps them all: request ids, the access log and request
 * metrics, the API key, `/metrics`, `/openapi.json`, and the mapping of
 * every failure to a status and a JSON body, in one place (`onError`, over
 * `failure_answer.ts`); handlers only throw. The scoring requests themselves
 * (`POST /predict`, `POST /models/{name}/predict`) are answered in front of
 * Hono by `predict_fast_path.ts`, with the same envelope, answer and error
 * table; `app.fetch` is that and then Hono. It never listens: the composition root
 * (`src/commands/run_serve.ts`) hands `app.fetch` to `listen` (src/http/listen.ts), and tests
 * call `app.request()` directly.
 */
import { Hono } from "hono";
import { matchedRoutes, routePath } from "hono/route";
import { NotFoundError } from "../errors.ts";
import type { Model } from "../model/mod.ts";
import type { DataPlane } from "../serving/data_plane.ts";
import { AccessLog } from "../serving/access_log.ts";
import { observePlane, RequestEnvelope } from "../serving/envelope.ts";
import { bearerToken } from "./bearer_token.ts";
import { failureAnswer } from "./failure_answer.ts";
import { type AppEnv, methodNotAllowed } from "./app_env.ts";
import { Metrics } from "../serving/metrics.ts";
import { METRICS_CONTENT_TYPE } from "../metrics/mod.ts";
import { oipRoutes } from "./oip_routes.ts";
import { openApi } from "./openapi.ts";
import { predictRoutes } from "./predict_routes.ts";
import { predictFastPath } from "./predict_fast_path.ts";

/** How the app behaves; every field has a default. */
export interface AppOptions {
  /** When set, every route but `/v2/health/*` needs `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** Largest accepted request body (default 1 MiB). */
  maxBodyBytes?: number;
  /** The setting that raises the limit, named in a 413 (e.g. the command's flag). */
  maxBodyBytesName?: string;
  /** Metrics to fill (a fresh set by default). */
  metrics?: Metrics;
  /** Where the JSON line of each request goes (default: a buffered stderr log); false: none. */
  accessLog?: AccessLog | false;
  /**
   * The envelope shared with another transport (gRPC), which then brings the metrics and the access log;
   * the data plane's gauges are registered by whoever builds it.
   */
  envelope?: RequestEnvelope;
}

/**
 * Builds the app over a data plane; its first model answers `POST /predict`.
 *
 * @example
 * ```ts
 * const app = createApp(new DataPlane([model]), { apiKey: "s3cret" });
 * const res = await app.request("/predict", { method: "POST", body: JSON.stringify(ride), headers });
 * ```
 */
export function createApp(plane: DataPlane, options: AppOptions = {}): Hono<AppEnv> {
  const body = { maxBytes: options.maxBodyBytes ?? 1_048_576, limitName: options.maxBodyBytesName };
  const checkKey = options.apiKey ? bearerToken(options.apiKey) : undefined;
  const envelope = options.envelope ??
    new RequestEnvelope(options.metrics ?? new Metrics(), options.accessLog ?? new AccessLog());
  if (options.envelope === undefined) observePlane(envelope.metrics, plane);
  const { metrics } = envelope;
  // Built again only when the served models change.
  let document: { models: readonly Model[]; body: ReturnType<typeof openApi> } | undefined;
  const openApiDocument = () => {
    if (document?.models !== plane.models) {
      document = { models: plane.models, body: openApi(plane.models, plane.version, checkKey !== undefined) };
    }
    return document.body;
  };

  // strict: false, so `/v2/` is `/v2` (the KServe and OIP OpenAPI files list server metadata under `/v2/`).
  const app = new Hono<AppEnv>({ strict: false });

  // Access log and request metrics wrap everything, errors included.
  app.use(async (c, next) => {
    const start = performance.now();
    const sent = c.req.header("x-request-id");
    const requestId = envelope.start(sent);
    c.set("requestId", requestId);
    // Set before the handler runs, so it goes into the response as it is built; an error's answer gets it in onError.
    if (requestId === sent) c.header("X-Request-Id", requestId);
    try {
      await next();
    } finally {
      // A middleware that answered first (the API key) is not the route: log the route the request was for.
      const matched = routePath(c);
      const route = matched === "/*" ? matchedRoutes(c).find((r) => r.path !== "/*")?.path ?? "/*" : matched;
      envelope.done({
        protocol: "rest",
        requestId,
        method: c.req.method,
        path: c.req.path,
        route,
        model: c.get("model") ?? "",
        version: c.get("modelVersion") ?? "",
        status: c.res.status,
        code: c.get("errorCode"),
        seconds: (performance.now() - start) / 1000,
      });
    }
  });

  if (checkKey !== undefined) {
    app.use(async (c, next) => {
      if (!c.req.path.startsWith("/v2/health/")) checkKey(c.req.header("authorization"));
      await next();
    });
  }

  // The REST side of the error table: the failure's own HTTP status.
  app.onError((err, c) => {
    const requestId = c.get("requestId");
    const { status, code, body, headers } = failureAnswer(envelope, err, requestId);
    c.set("errorCode", code);
    c.header("X-Request-Id", requestId);
    for (const [name, value] of headers) c.header(name, value);
    return c.json(body, status as 400);
  });

  app.route("/", predictRoutes(plane, body));
  app.route("/", oipRoutes(plane, body));
  app.get(
    "/metrics",
    async (c) => c.text(await metrics.render(), 200, { "Content-Type": METRICS_CONTENT_TYPE }),
  );
  app.get("/openapi.json", (c) => c.json(openApiDocument()));
  methodNotAllowed(app, "GET, HEAD", ["/metrics", "/openapi.json"]);
  app.all("*", (c) => {
    throw new NotFoundError(`No route ${c.req.method} ${c.req.path} (see /openapi.json)`);
  });
  // The scoring requests skip Hono (see predict_fast_path.ts); app.request() goes through here too.
  const fast = predictFastPath(plane, body, envelope, checkKey);
  const routed = app.fetch;
  app.fetch = (request, ...rest) => fast(request) ?? routed(request, ...rest);
  return app;
}
