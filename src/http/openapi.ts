/**
 * The OpenAPI 3.1 description of the service (`GET /openapi.json`): every
 * route, and per loaded model the schema of its features and predictions,
 * built from the model itself so it cannot drift from what is served.
 */
import type { Model, TensorType } from "../model/mod.ts";
import { DATATYPES } from "../serving/oip.ts";

/**
 * The OpenAPI document for these models (the first answers `POST /predict`).
 *
 * @example
 * ```ts
 * openApi([model], "0.1.0").paths["/predict"];
 * ```
 */
export function openApi(models: readonly Model[], version: string, withAuth: boolean) {
  const schemas: Record<string, unknown> = {
    Error: {
      type: "object",
      required: ["error"],
      properties: { error: { type: "string" }, code: { type: "string" } },
    },
    InferTensor: {
      type: "object",
      required: ["name", "shape", "datatype", "data"],
      properties: {
        name: { type: "string" },
        shape: { type: "array", items: { type: "integer" } },
        datatype: { type: "string", enum: [...new Set(Object.values(DATATYPES))] },
        parameters: { type: "object" },
        data: { type: "array", description: "Row-major values, flat or nested" },
      },
    },
    InferRequest: {
      type: "object",
      required: ["inputs"],
      properties: {
        id: { type: "string" },
        parameters: { type: "object" },
        inputs: { type: "array", items: { $ref: "#/components/schemas/InferTensor" } },
        outputs: {
          type: "array",
          items: { type: "object", required: ["name"], properties: { name: { type: "string" } } },
        },
      },
    },
    InferResponse: {
      type: "object",
      required: ["model_name", "outputs"],
      properties: {
        model_name: { type: "string" },
        model_version: { type: "string" },
        id: { type: "string" },
        outputs: { type: "array", items: { $ref: "#/components/schemas/InferTensor" } },
      },
    },
    TensorMetadata: {
      type: "object",
      properties: {
        name: { type: "string" },
        datatype: { type: "string" },
        shape: { type: "array", items: { type: "integer" } },
      },
    },
    ModelMetadata: {
      type: "object",
      properties: {
        name: { type: "string" },
        versions: { type: "array", items: { type: "string" } },
        platform: { type: "string" },
        inputs: { type: "array", items: { $ref: "#/components/schemas/TensorMetadata" } },
        outputs: { type: "array", items: { $ref: "#/components/schemas/TensorMetadata" } },
      },
    },
  };
  const errors = {
    "400": errorResponse("Malformed JSON or a request of the wrong shape"),
    ...(withAuth ? { "401": errorResponse("Missing or wrong API key") } : {}),
    "404": errorResponse("Unknown model"),
    "413": errorResponse("Body over --max-body-bytes"),
    "422": errorResponse("A missing or wrongly typed feature, named in the message"),
    "503": errorResponse("Queue full or shutting down; see Retry-After"),
  };
  const paths: Record<string, unknown> = {};
  for (const [i, model] of models.entries()) {
    const id = schemaName(model.name);
    schemas[`${id}Features`] = featuresSchema(model);
    schemas[`${id}Prediction`] = predictionSchema(model);
    const predict = {
      post: {
        summary: `Score rows with ${model.name} (${model.version})`,
        description: model.description || undefined,
        requestBody: {
          required: true,
          content: {
            "application/json": {
              schema: {
                oneOf: [
                  { $ref: `#/components/schemas/${id}Features` },
                  { type: "array", items: { $ref: `#/components/schemas/${id}Features` } },
                  {
                    type: "object",
                    required: ["instances"],
                    properties: { instances: { type: "array", items: { $ref: `#/components/schemas/${id}Features` } } },
                  },
                ],
              },
            },
          },
        },
        responses: {
          "200": {
            description:
              'An object for an object, an array for an array, {"predictions": [...]} for {"instances": [...]}',
            content: {
              "application/json": {
                schema: {
                  oneOf: [
                    { $ref: `#/components/schemas/${id}Prediction` },
                    { type: "array", items: { $ref: `#/components/schemas/${id}Prediction` } },
                    {
                      type: "object",
                      properties: {
                        predictions: { type: "array", items: { $ref: `#/components/schemas/${id}Prediction` } },
                      },
                    },
                  ],
                },
              },
            },
          },
          ...errors,
        },
      },
    };
    if (i === 0) paths["/predict"] = predict;
    paths[`/models/${model.name}/predict`] = predict;
    const base = `/v2/models/${model.name}`;
    paths[base] = {
      get: {
        summary: `OIP model metadata of ${model.name}`,
        responses: { "200": json("Model metadata", "ModelMetadata"), "404": errors["404"] },
      },
    };
    paths[`${base}/versions/${model.version}`] = paths[base];
    paths[`${base}/ready`] = {
      get: {
        summary: `Whether ${model.name} is ready (status only)`,
        responses: { "200": { description: "Ready" }, "400": { description: "Not ready" } },
      },
    };
    paths[`${base}/versions/${model.version}/ready`] = paths[`${base}/ready`];
    const infer = {
      post: {
        summary: `OIP v2 inference with ${model.name}`,
        requestBody: {
          required: true,
          content: { "application/json": { schema: { $ref: "#/components/schemas/InferRequest" } } },
        },
        responses: { "200": json("The requested outputs", "InferResponse"), ...errors },
      },
    };
    paths[`${base}/infer`] = infer;
    paths[`${base}/versions/${model.version}/infer`] = infer;
  }
  paths["/v2"] = {
    get: {
      summary: "OIP server metadata",
      responses: {
        "200": {
          description: "Name, version and extensions",
          content: {
            "application/json": {
              schema: {
                type: "object",
                properties: {
                  name: { type: "string" },
                  version: { type: "string" },
                  extensions: { type: "array", items: { type: "string" } },
                },
              },
            },
          },
        },
      },
    },
  };
  paths["/v2/health/live"] = {
    get: { summary: "Liveness (status only, no auth)", security: [], responses: { "200": { description: "Live" } } },
  };
  paths["/v2/health/ready"] = {
    get: {
      summary: "Readiness (status only, no auth); false while shutting down",
      security: [],
      responses: { "200": { description: "Ready" }, "400": { description: "Not ready" } },
    },
  };
  paths["/metrics"] = {
    get: {
      summary: "Prometheus metrics",
      responses: { "200": { description: "Text exposition format", content: { "text/plain": {} } } },
    },
  };
  paths["/openapi.json"] = { get: { summary: "This document", responses: { "200": { description: "OpenAPI 3.1" } } } };
  return {
    openapi: "3.1.0",
    info: {
      title: "score serve",
      version,
      description: `Models: ${models.map((m) => `${m.name} ${m.version}`).join(", ")}`,
    },
    ...(withAuth ? { security: [{ bearer: [] }] } : {}),
    paths,
    components: {
      schemas,
      ...(withAuth ? { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } } : {}),
    },
  };
}

function featuresSchema(model: Model) {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const input of model.inputs) {
    const also = input.aliases.length > 0 ? `Also accepted as: ${input.aliases.join(", ")}` : undefined;
    if (!input.vector) {
      properties[input.columns[0]] = { ...jsonType(input.type), description: also };
      required.push(input.columns[0]);
      continue;
    }
    // An [N,K] input: its K columns, or one list of K values under its name.
    const k = input.columns.length;
    for (const c of input.columns) properties[c] = { ...jsonType(input.type), description: `Or in "${input.name}"` };
    properties[input.name] = {
      type: "array",
      items: jsonType(input.type),
      minItems: k,
      maxItems: k,
      description: `The values of ${input.columns.join(", ")} as one list. ${also ?? ""}`.trim(),
    };
  }
  return { type: "object", required, properties };
}

function predictionSchema(model: Model) {
  const properties: Record<string, unknown> = {};
  for (const o of model.outputs) {
    if (o.labels) {
      properties[o.key] = {
        type: "object",
        description: "Probability of each class",
        properties: Object.fromEntries(o.labels.map((l) => [l, jsonType(o.type)])),
      };
    } else for (const c of o.columns) properties[c] = jsonType(o.type);
  }
  properties.model_version = { type: "string", const: model.version };
  return { type: "object", required: Object.keys(properties), properties };
}

function jsonType(type: TensorType) {
  if (type === "string") return { type: "string" };
  if (type === "bool") return { type: "boolean" };
  if (type === "float32" || type === "float64") return { type: "number" };
  return { type: "integer" };
}

function json(description: string, schema: string) {
  return { description, content: { "application/json": { schema: { $ref: `#/components/schemas/${schema}` } } } };
}

function errorResponse(description: string) {
  return json(description, "Error");
}

function schemaName(name: string): string {
  return name.replace(/(^|[^A-Za-z0-9])([A-Za-z0-9])/g, (_m, _s, ch: string) => ch.toUpperCase()).replace(
    /[^A-Za-z0-9]/g,
    "",
  );
}
