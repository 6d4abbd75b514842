/**
 * The JSON codec of the course-compatible request shapes of `POST /predict`
 * and `POST /models/{name}/predict`: a body to columns for the data plane,
 * and a prediction back to JSON:
 *
 * - an object of features answers one object of outputs plus `model_version`;
 * - an array of objects answers an array;
 * - `{"instances": [...]}` (KServe v1) answers `{"predictions": [...]}`;
 *   an instance may also be a list of values in the model's input order.
 */
import { InputError } from "../errors.ts";
import type { Model, Prediction } from "../model/mod.ts";
import { rowsToColumns } from "../rows.ts";
import { isJsonObject } from "../value_codec.ts";
import { predictionJson } from "../serving/prediction_json.ts";
import type { RowsRequest } from "../serving/data_plane.ts";

/** Which of the three shapes a request used. */
export type RowsShape = "object" | "array" | "instances";

/** A parsed body: which shape it used, and its rows as columns (a `RowsRequest` of the data plane). */
export interface ParsedRows extends RowsRequest {
  shape: RowsShape;
  columns: Record<string, unknown[]>;
}

/**
 * Checks a parsed body against the model and returns its rows. Shape
 * errors are 400; a missing or null field is 422 naming the field (and the
 * row, for several rows).
 *
 * @example
 * ```ts
 * const req = parseRowsRequest({ PULocationID: 10, DOLocationID: 50, trip_distance: 40 }, model);
 * req.columns.trip_distance; // [40]
 * ```
 */
export function parseRowsRequest(body: unknown, model: Model): ParsedRows {
  let shape: RowsShape;
  let items: unknown[];
  if (Array.isArray(body)) {
    shape = "array";
    items = body;
  } else if (isJsonObject(body) && "instances" in body) {
    if (!Array.isArray(body.instances)) throw badRequest(`"instances" must be a JSON array`);
    shape = "instances";
    items = body.instances;
  } else if (isJsonObject(body)) {
    shape = "object";
    items = [body];
  } else {
    throw badRequest('The request body must be a JSON object of features, an array of them, or {"instances": [...]}');
  }
  if (items.length === 0) throw badRequest(`The request has no rows to score`);
  const rows = items.map((item, i) => toRow(item, i, shape, model));
  const columns = rowsToColumns(rows);
  // A null is the model's to judge (NaN for a float input that is not required); an absent field is a mistake.
  for (const source of model.resolveInputs(Object.keys(columns)).values()) {
    if (source.listColumn !== undefined) continue;
    for (const column of source.columns!) {
      const values = columns[column];
      // rowsToColumns leaves holes, which indexOf skips.
      let r = 0;
      while (r < values.length && values[r] !== undefined) r++;
      if (r < values.length) throw new InputError(`${where(shape, r)}field "${column}" is missing`);
    }
  }
  return { shape, columns, length: rows.length };
}

/**
 * The response body for a request's prediction. A rejected row fails the
 * whole request with a 422 naming the row and the field: a partial answer
 * would be easy to misread.
 *
 * @example
 * ```ts
 * rowsResponse(model, req.shape, (await plane.predictRows(name, req, context)).prediction);
 * // { duration: 26.43883355119793, model_version: "..." }
 * ```
 */
export function rowsResponse(model: Model, shape: RowsShape, prediction: Prediction): unknown {
  if (prediction.rejects.length > 0) {
    const first = prediction.rejects[0];
    const more = prediction.rejects.length > 1 ? ` (and ${prediction.rejects.length - 1} more rows)` : "";
    // The model quotes a bad value short, however large it is.
    throw new InputError(`${where(shape, first.index)}${first.message}${more}`);
  }
  const outputs = model.outputs;
  const n = prediction.columns[outputs[0].columns[0]].length;
  const objects = new Array<Record<string, unknown>>(n);
  for (let r = 0; r < n; r++) {
    const o = predictionJson(outputs, prediction.columns, r);
    o.model_version = model.version;
    objects[r] = o;
  }
  if (shape === "object") return objects[0];
  if (shape === "array") return objects;
  return { predictions: objects, model_name: model.name, model_version: model.version };
}

function toRow(item: unknown, i: number, shape: RowsShape, model: Model): Record<string, unknown> {
  if (isJsonObject(item)) return byInputName(item, model);
  if (shape === "instances" && Array.isArray(item)) {
    // A list of values in the model's input order, an [N,K] input's K values in a row (as sklearn's predict takes them).
    const names = model.inputs.flatMap((input) => input.columns);
    if (item.length !== names.length) {
      throw badRequest(
        `instance ${i} has ${item.length} values, the model takes ${names.length} (${names.join(", ")})`,
      );
    }
    return Object.fromEntries(names.map((name, k) => [name, item[k]]));
  }
  throw badRequest(`${shape === "instances" ? "instance" : "row"} ${i} is not a JSON object of features`);
}

/** The row with each feature given under an alias moved to its input's name, so rows of one request may differ. */
function byInputName(item: Record<string, unknown>, model: Model): Record<string, unknown> {
  let row = item;
  for (const input of model.inputs) {
    if (input.name in row) continue;
    const alias = input.aliases.find((a) => a in row);
    if (alias === undefined) continue;
    if (row === item) row = { ...item };
    row[input.name] = row[alias];
    delete row[alias];
  }
  return row;
}

function where(shape: RowsShape, index: number): string {
  if (shape === "object") return "";
  return `${shape === "instances" ? "instance" : "row"} ${index}: `;
}

function badRequest(message: string): InputError {
  return new InputError(message, { status: 400, code: "bad_request" });
}
