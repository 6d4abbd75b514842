/**
 * The course-shaped routes: `POST /predict` (the first model) and
 * `POST /models/{name}/predict`. Mounted by `createApp`; the requests the
 * fast path (`predict_fast_path.ts`) takes never reach them, the others
 * (e.g. a trailing slash, an escaped name) do, with the same answer.
 */
import { type Context, Hono } from "hono";
import type { DataPlane } from "../serving/data_plane.ts";
import { type AppEnv, methodNotAllowed } from "./app_env.ts";
import type { BodyLimit } from "./read_json.ts";
import { rowsAnswer } from "./rows_answer.ts";

/**
 * The routes of the course's web service over this data plane.
 *
 * @example
 * ```ts
 * app.route("/", predictRoutes(dataPlane, { maxBytes: 1_048_576 }));
 * ```
 */
export function predictRoutes(plane: DataPlane, limit: BodyLimit): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const predict = async (c: Context<AppEnv>, name: string) => {
    const labels = { requestId: c.get("requestId"), model: "", modelVersion: "" };
    try {
      return c.body(await rowsAnswer(plane, limit, c.req.raw, name, labels), 200, {
        "Content-Type": "application/json",
      });
    } finally {
      if (labels.model !== "") c.set("model", labels.model);
      if (labels.modelVersion !== "") c.set("modelVersion", labels.modelVersion);
    }
  };
  app.post("/predict", (c) => predict(c, plane.defaultModel));
  app.post("/models/:name/predict", (c) => predict(c, c.req.param("name")));
  methodNotAllowed(app, "POST", ["/predict", "/models/:name/predict"]);
  return app;
}
