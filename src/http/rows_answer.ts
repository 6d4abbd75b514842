/**
 * The answer to `POST /predict` and `POST /models/{name}/predict`, written
 * once for the Hono routes (`predict_routes.ts`) and the fast path in front
 * of them (`predict_fast_path.ts`): the body read within its limit, checked
 * against the model, scored through the data plane, and the response's JSON
 * text.
 */
import type { DataPlane } from "../serving/data_plane.ts";
import { type BodyLimit, readJson } from "./read_json.ts";
import { parseRowsRequest, rowsResponse } from "./rows_json.ts";

/** The request's labels for the metrics and the access log, filled in as they become known. */
export interface RowsLabels {
  readonly requestId: string;
  /** Set once the model is known to exist (an unknown name must not become a series). */
  model: string;
  /** Set once the data plane has scored the rows: the version that answered. */
  modelVersion: string;
}

/**
 * The JSON text answering `request` with model `name`; throws what the error table maps (unknown model 404,
 * body too large 413, malformed 400, a rejected row 422, a full queue 503).
 *
 * @example
 * ```ts
 * const labels = { requestId, model: "", modelVersion: "" };
 * const json = await rowsAnswer(plane, { maxBytes: 1_048_576 }, request, plane.defaultModel, labels);
 * ```
 */
export async function rowsAnswer(
  plane: DataPlane,
  limit: BodyLimit,
  request: Request,
  name: string,
  labels: RowsLabels,
): Promise<string> {
  const model = plane.served(name).model;
  labels.model = model.name;
  const req = parseRowsRequest(await readJson(request, limit), model);
  const context = { requestId: labels.requestId, modelVersion: "" };
  const out = await plane.predictRows(name, req, context);
  labels.modelVersion = context.modelVersion;
  return JSON.stringify(rowsResponse(out.model, req.shape, out.prediction));
}
