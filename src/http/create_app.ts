/**
 * The HTTP app of `score serve`: it maps HTTP to the data plane
 * (`src/serving/data_plane.ts`). The course-shaped `/predict` routes and the
 * Open Inference Protocol v2 routes are two small apps mounted here; this
 * file adds what wraps them all: request ids, the access log and request
 * metrics, the API key, `/metrics`, `/openapi.json`, and the mapping of
 * every failure to a status and a JSON body, in one place (`onError`);
 * handlers only throw. It never listens: the composition root
 * (`src/commands/serve.ts`) hands `app.fetch` to `listen` (src/http/listen.ts), and tests
 * call `app.request()` directly.
 */
import { Hono } from "hono";
import { matchedRoutes, routePath } from "hono/route";
import { ClientClosedError, describeError, NotFoundError, UnavailableError } from "../errors.ts";
import { log } from "../log.ts";
import type { Model } from "../model/mod.ts";
import type { DataPlane } from "../serving/data_plane.ts";
import { AccessLog } from "./access_log.ts";
import { bearerToken } from "./bearer_token.ts";
import { type Env, methodNotAllowed } from "./env.ts";
import { Metrics } from "./metrics.ts";
import { METRICS_CONTENT_TYPE, unknownCategoriesCounter } from "../metrics/mod.ts";
import { oipRoutes } from "./oip_routes.ts";
import { openApi } from "./openapi.ts";
import { predictRoutes } from "./predict_routes.ts";

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
}

/** An incoming `X-Request-Id` is echoed only if it is short and printable, so logs stay clean. */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * Builds the app over a data plane; its first model answers `POST /predict`.
 *
 * @example
 * ```ts
 * const app = createApp(new DataPlane([model]), { apiKey: "s3cret" });
 * const res = await app.request("/predict", { method: "POST", body: JSON.stringify(ride), headers });
 * ```
 */
export function createApp(plane: DataPlane, options: AppOptions = {}): Hono<Env> {
  const metrics = options.metrics ?? new Metrics();
  const body = { maxBytes: options.maxBodyBytes ?? 1_048_576, limitName: options.maxBodyBytesName };
  const accessLog = options.accessLog ?? new AccessLog();
  const checkKey = options.apiKey ? bearerToken(options.apiKey) : undefined;
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
  // Built again only when the served models change.
  let document: { models: readonly Model[]; body: ReturnType<typeof openApi> } | undefined;
  const openApiDocument = () => {
    if (document?.models !== plane.models) {
      document = { models: plane.models, body: openApi(plane.models, plane.version, checkKey !== undefined) };
    }
    return document.body;
  };

  // strict: false, so `/v2/` is `/v2` (the KServe and OIP OpenAPI files list server metadata under `/v2/`).
  const app = new Hono<Env>({ strict: false });

  // Access log and request metrics wrap everything, errors included.
  app.use(async (c, next) => {
    const start = performance.now();
    const incoming = c.req.header("x-request-id");
    const requestId = incoming !== undefined && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", requestId);
    // Set before the handler runs, so it goes into the response as it is built.
    c.header("X-Request-Id", requestId);
    metrics.requestStarted();
    try {
      await next();
    } finally {
      metrics.requestDone();
    }
    const seconds = (performance.now() - start) / 1000;
    const model = c.get("model") ?? "";
    // A middleware that answered first (the API key) is not the route: log the route the request was for.
    const matched = routePath(c);
    const route = matched === "/*" ? matchedRoutes(c).find((r) => r.path !== "/*")?.path ?? "/*" : matched;
    metrics.observeRequest(model, route, c.res.status, seconds, c.get("modelVersion") ?? "");
    if (accessLog) {
      accessLog.write({
        requestId,
        method: c.req.method,
        path: c.req.path,
        route,
        model,
        status: c.res.status,
        latencyMs: Math.round(seconds * 1e6) / 1000,
        code: c.get("errorCode"),
      });
    }
  });

  if (checkKey !== undefined) {
    app.use(async (c, next) => {
      if (!c.req.path.startsWith("/v2/health/")) checkKey(c.req.header("authorization"));
      await next();
    });
  }

  app.onError((err, c) => {
    const failure = describeError(err);
    const requestId = c.get("requestId");
    c.set("errorCode", failure.code);
    if (failure.status >= 500 && !(err instanceof UnavailableError)) {
      log.error("request failed", {
        request_id: requestId,
        code: failure.code,
        error: failure.message,
        stack: (err as Error)?.stack,
      });
    }
    if (err instanceof ClientClosedError) {
      // Nobody is waiting for the answer, and nothing is wrong here: counted as 499, logged at info.
      log.info("client closed the request", { request_id: requestId, error: failure.message });
    } else if (err instanceof UnavailableError) {
      metrics.reject("queue_full");
      if (err.retryAfterSeconds !== undefined) {
        c.header("Retry-After", String(Math.max(1, Math.ceil(err.retryAfterSeconds))));
      }
    } else if (failure.status === 413) metrics.reject("body_too_large");
    else if (failure.status === 401) {
      metrics.reject("unauthorized");
      c.header("WWW-Authenticate", `Bearer realm="score"`);
    }
    // A 500 is our bug, not the caller's: its details stay in the log.
    const message = failure.status >= 500 && !(err instanceof UnavailableError)
      ? `Internal error while handling request ${requestId}; see the server log`
      : failure.message;
    return c.json({ error: message, code: failure.code }, failure.status as 400);
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
  return app;
}
