/**
 * The Open Inference Protocol v2 REST routes (`/v2/...`). Health answers
 * are status-only, as the protocol says. Mounted by `createApp`.
 */
import { type Context, Hono } from "hono";
import type { DataPlane } from "../serving/data_plane.ts";
import { type AppEnv, methodNotAllowed } from "./app_env.ts";
import { type BodyLimit, readJson } from "./read_json.ts";
import { InputError } from "../errors.ts";
import { decodeInferRequest, encodeInferResult } from "./oip_json.ts";

/**
 * The protocol's routes over this data plane.
 *
 * @example
 * ```ts
 * app.route("/", oipRoutes(dataPlane, { maxBytes: 1_048_576 }));
 * ```
 */
export function oipRoutes(plane: DataPlane, limit: BodyLimit): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  /** The model named by the path; the label is set only once it is known to exist. */
  const model = (c: Context<AppEnv>) => {
    const name = c.req.param("name")!;
    const version = c.req.param("version");
    c.set("model", plane.served(name, version).model.name);
    return { name, version };
  };
  app.get("/v2/health/live", (c) => c.body(null, 200));
  app.get("/v2/health/ready", (c) => c.body(null, plane.ready() ? 200 : 400));
  app.get("/v2", (c) => c.json(plane.metadata()));
  const metadata = (c: Context<AppEnv>) => {
    const { name, version } = model(c);
    return c.json(plane.modelMetadata(name, version));
  };
  app.get("/v2/models/:name", metadata);
  app.get("/v2/models/:name/versions/:version", metadata);
  const ready = (c: Context<AppEnv>) => {
    const { name, version } = model(c);
    return c.body(null, plane.modelReady(name, version) ? 200 : 400);
  };
  app.get("/v2/models/:name/ready", ready);
  app.get("/v2/models/:name/versions/:version/ready", ready);
  const infer = async (c: Context<AppEnv>) => {
    const { name, version } = model(c);
    const served = plane.served(name, version).model;
    if (c.req.header("inference-header-content-length") !== undefined || isBinary(c.req.header("content-type"))) {
      throw new InputError(
        "The binary tensor extension (Inference-Header-Content-Length, binary data) is not supported: send the inputs as JSON data",
        { status: 415, code: "binary_tensors_unsupported" },
      );
    }
    const request = decodeInferRequest(await readJson(c.req.raw, limit), served);
    const context = { requestId: c.get("requestId"), modelVersion: "" };
    const result = await plane.infer(name, version, request, context);
    c.set("modelVersion", context.modelVersion);
    return c.json(encodeInferResult(result));
  };
  app.post("/v2/models/:name/infer", infer);
  app.post("/v2/models/:name/versions/:version/infer", infer);
  methodNotAllowed(app, "POST", ["/v2/models/:name/infer", "/v2/models/:name/versions/:version/infer"]);
  methodNotAllowed(app, "GET, HEAD", [
    "/v2",
    "/v2/health/live",
    "/v2/health/ready",
    "/v2/models/:name",
    "/v2/models/:name/versions/:version",
    "/v2/models/:name/ready",
    "/v2/models/:name/versions/:version/ready",
  ]);
  return app;
}

/** A Triton client sending tensors as raw bytes says so in the content type. */
function isBinary(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/octet-stream/i.test(contentType);
}
