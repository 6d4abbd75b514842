/**
 * The course-shaped routes: `POST /predict` (the first model) and
 * `POST /models/{name}/predict`. Mounted by `createApp`.
 */
import { type Context, Hono } from "hono";
import type { DataPlane } from "../serving/data_plane.ts";
import { type Env, methodNotAllowed } from "./env.ts";
import { type BodyLimit, readJson } from "./read_json.ts";
import { parseRowsRequest, rowsResponse } from "./rows_json.ts";

/**
 * The routes of the course's web service over this data plane.
 *
 * @example
 * ```ts
 * app.route("/", predictRoutes(dataPlane, { maxBytes: 1_048_576 }));
 * ```
 */
export function predictRoutes(plane: DataPlane, limit: BodyLimit): Hono<Env> {
  const app = new Hono<Env>();
  const predict = async (c: Context<Env>, name: string) => {
    // The label is set once the model is known to exist: an unknown name must not become a series.
    const model = plane.entry(name).model;
    c.set("model", model.name);
    const req = parseRowsRequest(await readJson(c.req.raw, limit), model);
    const context = { requestId: c.get("requestId"), modelVersion: "" };
    const out = await plane.predictRows(name, req, context);
    c.set("modelVersion", context.modelVersion);
    return c.json(rowsResponse(out.model, req.shape, out.prediction));
  };
  app.post("/predict", (c) => predict(c, plane.defaultModel));
  app.post("/models/:name/predict", (c) => predict(c, c.req.param("name")));
  methodNotAllowed(app, "POST", ["/predict", "/models/:name/predict"]);
  return app;
}
