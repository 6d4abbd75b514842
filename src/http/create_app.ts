/**
 * The HTTP app of `score serve`: the seed-compatible `/predict` routes, the
 * Open Inference Protocol v2 routes, `/metrics` and `/openapi.json`. It
 * never listens: the composition root (`src/commands/serve.ts`) hands
 * `app.fetch` to `Deno.serve`, and tests call `app.request()` directly.
 *
 * Every failure is mapped to a status and a JSON body in one place, the
 * `onError` below; handlers only throw.
 */
import { type Context, Hono } from "hono";
import { routePath } from "hono/route";
import { describeError, InputError, NotFoundError, UnavailableError, UsageError } from "../errors.ts";
import { log } from "../log.ts";
import type { Model } from "../model/mod.ts";
import { Batcher, type BatcherOptions } from "../serving/batcher.ts";
import type { PredictionRecord } from "../sinks/prediction_log.ts";
import { AccessLog } from "./access_log.ts";
import { bearerToken } from "./bearer_token.ts";
import { Metrics } from "./metrics.ts";
import { inferResponse, modelMetadata, parseInferRequest } from "../serving/oip.ts";
import { openApi } from "./openapi.ts";
import { readJson } from "./read_json.ts";
import { parseRowsRequest, rowsResponse } from "../serving/rows_request.ts";

/** Where scored rows go besides the response (e.g. the Postgres prediction log). */
export interface PredictionWriter {
  /** Must not block or throw: it is called on the response path. */
  write(record: PredictionRecord): void;
}

/** How the app behaves; every field has a default. */
export interface AppOptions {
  /** Reported by `GET /v2` and `/openapi.json`. */
  version?: string;
  /** When set, every route but `/v2/health/*` needs `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** Largest accepted request body (default 1 MiB). */
  maxBodyBytes?: number;
  /** Dynamic batching limits, per model. */
  batching?: Omit<BatcherOptions, "onBatch">;
  /** Metrics to fill (a fresh set by default). */
  metrics?: Metrics;
  /** Where the JSON line of each request goes (default: a buffered stderr log); false: none. */
  accessLog?: AccessLog | false;
  /** Prediction log: one record per scored row. */
  predictions?: PredictionWriter;
  /** Readiness: false while the server drains (default: always ready). */
  isReady?: () => boolean;
}

type Env = { Variables: { requestId: string; model: string } };

/** An incoming `X-Request-Id` is echoed only if it is short and printable, so logs stay clean. */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * Builds the app for these models; the first answers `POST /predict`.
 *
 * @example
 * ```ts
 * const app = createApp([model], { apiKey: "s3cret" });
 * const res = await app.request("/predict", { method: "POST", body: JSON.stringify(ride), headers });
 * ```
 */
export function createApp(models: readonly Model[], options: AppOptions = {}): Hono<Env> {
  if (models.length === 0) throw new UsageError("score serve needs at least one model (--model)");
  const metrics = options.metrics ?? new Metrics();
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576;
  const isReady = options.isReady ?? (() => true);
  const accessLog = options.accessLog ?? new AccessLog();
  const predictions = options.predictions;
  const checkKey = options.apiKey ? bearerToken(options.apiKey) : undefined;
  const byName = new Map<string, { model: Model; batcher: Batcher }>();
  for (const model of models) {
    const batcher = new Batcher(model, {
      ...options.batching,
      onBatch: (rows) => metrics.observeBatch(model.name, rows),
    });
    byName.set(model.name, { model, batcher });
  }
  metrics.addGauge({
    name: "score_queue_rows",
    help: "Rows waiting for a model run, by model.",
    type: "gauge",
    read: () =>
      [...byName.values()].map(({ model, batcher }) => ({ labels: { model: model.name }, value: batcher.queuedRows })),
  });
  metrics.addGauge({
    name: "score_model_info",
    help: "The loaded models and their versions.",
    type: "gauge",
    read: () => models.map((m) => ({ labels: { model: m.name, version: m.version }, value: 1 })),
  });
  const document = openApi(models, options.version ?? "0.0.0", checkKey !== undefined);

  const find = (name: string, version?: string) => {
    const found = byName.get(name);
    if (found === undefined) {
      throw new NotFoundError(`Unknown model "${name}" (models: ${[...byName.keys()].join(", ")})`);
    }
    if (version !== undefined && version !== found.model.version) {
      throw new NotFoundError(`Model "${name}" has no version "${version}" (it serves ${found.model.version})`);
    }
    return found;
  };

  const app = new Hono<Env>();

  // Access log and request metrics wrap everything, errors included.
  app.use(async (c, next) => {
    const start = performance.now();
    const incoming = c.req.header("x-request-id");
    const requestId = incoming !== undefined && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", requestId);
    // Set before the handler runs, so it goes into the response as it is built.
    c.header("X-Request-Id", requestId);
    await next();
    const seconds = (performance.now() - start) / 1000;
    const model = c.get("model") ?? "";
    const route = routePath(c);
    metrics.observeRequest(model, route, c.res.status, seconds);
    if (accessLog) {
      accessLog.write({
        requestId,
        method: c.req.method,
        path: c.req.path,
        route,
        model,
        status: c.res.status,
        latencyMs: Math.round(seconds * 1e6) / 1000,
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
    if (failure.status >= 500 && !(err instanceof UnavailableError)) {
      log.error("request failed", {
        request_id: requestId,
        code: failure.code,
        error: failure.message,
        stack: (err as Error)?.stack,
      });
    }
    if (err instanceof UnavailableError) {
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

  const predict = async (c: Context<Env>, name: string) => {
    const { model, batcher } = find(name);
    c.set("model", model.name);
    const body = await readJson(c.req.raw, maxBodyBytes);
    const req = parseRowsRequest(body, model);
    const prediction = await batcher.predict(req.columns, req.rows.length);
    const out = rowsResponse(model, req.shape, prediction);
    if (predictions !== undefined) {
      const objects = req.shape === "object"
        ? [out]
        : req.shape === "array"
        ? out as unknown[]
        : (out as { predictions: unknown[] }).predictions;
      const time = new Date();
      for (let r = 0; r < req.rows.length; r++) {
        const { model_version: _v, ...outputs } = objects[r] as Record<string, unknown>;
        predictions.write({
          time,
          requestId: c.get("requestId"),
          model: model.name,
          modelVersion: model.version,
          features: req.rows[r],
          outputs,
        });
      }
    }
    return c.json(out);
  };
  app.post("/predict", (c) => predict(c, models[0].name));
  app.post("/models/:name/predict", (c) => predict(c, c.req.param("name")));

  // Open Inference Protocol v2. Health answers are status-only, as the protocol says.
  app.get("/v2/health/live", (c) => c.body(null, 200));
  app.get("/v2/health/ready", (c) => c.body(null, isReady() ? 200 : 400));
  app.get("/v2", (c) => c.json({ name: "score", version: options.version ?? "0.0.0", extensions: [] }));
  const metadata = (c: Context<Env>) => {
    const { model } = find(c.req.param("name")!, c.req.param("version"));
    c.set("model", model.name);
    return c.json(modelMetadata(model));
  };
  app.get("/v2/models/:name", metadata);
  app.get("/v2/models/:name/versions/:version", metadata);
  const ready = (c: Context<Env>) => {
    const { model } = find(c.req.param("name")!, c.req.param("version"));
    c.set("model", model.name);
    return c.body(null, isReady() ? 200 : 400);
  };
  app.get("/v2/models/:name/ready", ready);
  app.get("/v2/models/:name/versions/:version/ready", ready);
  const infer = async (c: Context<Env>) => {
    const { model, batcher } = find(c.req.param("name")!, c.req.param("version"));
    c.set("model", model.name);
    const body = await readJson(c.req.raw, maxBodyBytes);
    const req = parseInferRequest(body, model);
    const prediction = await batcher.predict(req.columns, req.length);
    const out = inferResponse(model, req, prediction);
    if (predictions !== undefined) {
      logInfer(predictions, c.get("requestId"), model, req.columns, req.length, prediction.columns);
    }
    return c.json(out);
  };
  app.post("/v2/models/:name/infer", infer);
  app.post("/v2/models/:name/versions/:version/infer", infer);

  app.get(
    "/metrics",
    (c) => c.text(metrics.render(), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" }),
  );
  app.get("/openapi.json", (c) => c.json(document));
  // A known route asked with the wrong method is a 405 that says which method to use, not a 404.
  const allow = (methods: string) => (c: Context<Env>) => {
    c.header("Allow", methods);
    throw new InputError(`${c.req.method} is not allowed on ${c.req.path}; use ${methods}`, {
      status: 405,
      code: "method_not_allowed",
    });
  };
  for (
    const path of [
      "/predict",
      "/models/:name/predict",
      "/v2/models/:name/infer",
      "/v2/models/:name/versions/:version/infer",
    ]
  ) {
    app.all(path, allow("POST"));
  }
  for (
    const path of [
      "/v2",
      "/v2/health/live",
      "/v2/health/ready",
      "/v2/models/:name",
      "/v2/models/:name/versions/:version",
      "/v2/models/:name/ready",
      "/v2/models/:name/versions/:version/ready",
      "/metrics",
      "/openapi.json",
    ]
  ) app.all(path, allow("GET, HEAD"));
  app.all("*", (c) => {
    throw new NotFoundError(`No route ${c.req.method} ${c.req.path} (see /openapi.json)`);
  });
  return app;
}

function logInfer(
  predictions: PredictionWriter,
  requestId: string,
  model: Model,
  inputs: Record<string, unknown[]>,
  length: number,
  outputs: Record<string, ArrayLike<unknown>>,
) {
  const time = new Date();
  const columns = model.outputColumns;
  for (let r = 0; r < length; r++) {
    const features: Record<string, unknown> = {};
    for (const name of Object.keys(inputs)) features[name] = inputs[name][r];
    const out: Record<string, unknown> = {};
    for (const { name } of columns) out[name] = outputs[name][r];
    predictions.write({ time, requestId, model: model.name, modelVersion: model.version, features, outputs: out });
  }
}
