/**
 * The JSON codecs of the REST routes answer byte for byte as they did
 * before the data plane was typed: each request's exact response text,
 * successes and errors, for the course's model, the churn model (BYTES in,
 * BOOL out), a ZipMap classifier, an [N,K] FP32 regressor and a model of
 * mixed inputs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createApp } from "../../src/http/create_app.ts";
import { loadModel } from "../../src/model/mod.ts";
import { DataPlane } from "../../src/serving/data_plane.ts";
import { FIXTURES, MODELS } from "../helpers.ts";

const ride = (d: unknown[], extra: Record<string, unknown> = {}) => ({
  inputs: [
    { name: "PULocationID", shape: [d.length], datatype: "INT64", data: d.map(() => 10) },
    { name: "DOLocationID", shape: [d.length], datatype: "INT64", data: d.map(() => 50) },
    { name: "trip_distance", shape: [d.length], datatype: "FP64", data: d },
  ],
  ...extra,
});

/** method, path, body, and the status and exact text answered. */
const CASES: [string, string, string | undefined, number, string][] = [
  [
    "POST",
    "/predict",
    JSON.stringify({ PULocationID: 10, DOLocationID: 50, trip_distance: 40 }),
    200,
    '{"duration":26.43883355119793,"model_version":"9bceaa0ed43a"}',
  ],
  [
    "POST",
    "/predict",
    JSON.stringify([{ PULocationID: 10, DOLocationID: 50, trip_distance: 40 }, {
      PULocationID: 1,
      DOLocationID: 2,
      trip_distance: "x",
    }]),
    422,
    '{"error":"row 1: column \\"trip_distance\\" is not a number (got \\"x\\")","code":"invalid_input"}',
  ],
  [
    "POST",
    "/predict",
    JSON.stringify({ instances: [[10, 50, 40], [1, 2, 3]] }),
    200,
    '{"predictions":[{"duration":26.43883355119793,"model_version":"9bceaa0ed43a"},{"duration":26.43767255074228,"model_version":"9bceaa0ed43a"}],"model_name":"ride-duration-linreg","model_version":"9bceaa0ed43a"}',
  ],
  [
    "POST",
    "/v2/models/ride-duration-linreg/infer",
    JSON.stringify(ride([40, 1.5, null], { id: "a" })),
    400,
    '{"error":"row 2: column \\"trip_distance\\" is missing (expected a number)","code":"bad_request"}',
  ],
  [
    "POST",
    "/v2/models/ride-duration-linreg/infer",
    JSON.stringify(ride([40, 1e999])),
    400,
    '{"error":"row 1: column \\"trip_distance\\" is missing (expected a number)","code":"bad_request"}',
  ],
  [
    "POST",
    "/v2/models/ride-duration-linreg/infer",
    JSON.stringify(ride([40])).replace('"data":[10]', '"data":[9007199254740993]'),
    200,
    '{"model_name":"ride-duration-linreg","model_version":"9bceaa0ed43a","outputs":[{"name":"duration","datatype":"FP64","shape":[1],"data":[26.43883355119793]}]}',
  ],
  [
    "POST",
    "/v2/models/ride-duration-linreg/infer",
    JSON.stringify(ride([40])).replace('"data":[10]', '"data":[9223372036854775808]'),
    400,
    '{"error":"Input \\"PULocationID\\" element 0 is 9223372036854775808, not a valid INT64 value","code":"bad_request"}',
  ],
  [
    "POST",
    "/v2/models/ride-duration-linreg/infer",
    JSON.stringify(ride([40])).replace('"FP64"', '"FP32"'),
    400,
    '{"error":"Input \\"trip_distance\\" has datatype \\"FP32\\"; the model expects FP64","code":"bad_request"}',
  ],
  [
    "POST",
    "/v2/models/ride-duration-linreg/infer",
    JSON.stringify(ride([40])).replace('"shape":[1],"datatype":"FP64"', '"shape":[2],"datatype":"FP64"'),
    400,
    '{"error":"Input \\"trip_distance\\" has 1 values but its shape [2] needs 2","code":"bad_request"}',
  ],
  [
    "POST",
    "/v2/models/ride-duration-linreg/infer",
    JSON.stringify(ride([40])).replace('"data":[40]', '"data":["x"]'),
    400,
    '{"error":"Input \\"trip_distance\\" element 0 is \\"x\\", not a valid FP64 value","code":"bad_request"}',
  ],
  [
    "POST",
    "/v2/models/ride-duration-linreg/infer",
    JSON.stringify(ride([40])).replace('"data":[40]', '"data":[[40]]'),
    400,
    '{"error":"Input \\"trip_distance\\" element 0 is a list (nested deeper than the shape), not a valid FP64 value","code":"bad_request"}',
  ],
  [
    "POST",
    "/v2/models/ride-duration-linreg/infer",
    JSON.stringify({ inputs: ride([40]).inputs.slice(1) }),
    400,
    '{"error":"Missing input for model \\"ride-duration-linreg\\": \\"PULocationID\\"","code":"bad_request"}',
  ],
  [
    "POST",
    "/v2/models/ride-duration-linreg/infer",
    JSON.stringify(ride([40], { outputs: [{ name: "nope" }, 3] })),
    400,
    '{"error":"Unknown output \\"nope\\" for model \\"ride-duration-linreg\\" (outputs: duration)","code":"bad_request"}',
  ],
  [
    "POST",
    "/v2/models/ride-duration-linreg/infer",
    JSON.stringify(ride([40], { outputs: [3] })),
    400,
    '{"error":"outputs[0] has no \\"name\\"","code":"bad_request"}',
  ],
  [
    "POST",
    "/v2/models/ride-duration-linreg/infer",
    JSON.stringify(ride([], {})),
    400,
    '{"error":"The request has no rows to score (shape [0])","code":"bad_request"}',
  ],
  [
    "POST",
    "/v2/models/ride-duration-linreg/infer",
    JSON.stringify({ inputs: "x" }),
    400,
    '{"error":"\\"inputs\\" must be a non-empty array of tensors","code":"bad_request"}',
  ],
  [
    "POST",
    "/v2/models/ride-duration-linreg/infer",
    "nope",
    400,
    '{"error":"The request body is not valid JSON: Unexpected token \'o\', \\"nope\\" is not valid JSON","code":"malformed_json"}',
  ],
  [
    "POST",
    "/v2/models/nk-regressor/infer",
    JSON.stringify({
      inputs: [{ name: "float_input", shape: [2, 4], datatype: "FP32", data: [5.1, 3.5, 1.4, null, 1, 2, 3, 1e39] }],
    }),
    400,
    '{"error":"row 1: column \\"petal_width\\" is not a finite number (got 1e+39)","code":"bad_request"}',
  ],
  [
    "POST",
    "/v2/models/nk-regressor/infer",
    JSON.stringify({
      inputs: [{ name: "float_input", shape: [1, 4], datatype: "FP32", data: [[5.1, 3.5, 1.4, 0.2]] }],
    }),
    200,
    '{"model_name":"nk-regressor","model_version":"88528dab017d","outputs":[{"name":"variable","datatype":"FP32","shape":[1,1],"data":[4.299999713897705]}]}',
  ],
  [
    "POST",
    "/v2/models/zipmap_int64/infer",
    JSON.stringify({ inputs: [{ name: "float_input", shape: [2, 3], datatype: "FP32", data: [1, 2, 3, 3, -1, 0.5] }] }),
    200,
    '{"model_name":"zipmap_int64","model_version":"219255b82042","outputs":[{"name":"output_label","datatype":"INT64","shape":[2],"data":[20,10]},{"name":"output_probability","datatype":"FP32","shape":[2,3],"data":[0.2784971296787262,0.720112681388855,0.0013901445781812072,0.9350137710571289,0.0005574185634031892,0.06442883610725403]}]}',
  ],
  [
    "POST",
    "/v2/models/zipmap_int64/infer",
    JSON.stringify({
      outputs: [{ name: "output_probability" }],
      inputs: [{ name: "float_input", shape: [1, 3], datatype: "FP32", data: [1, 2, 3] }],
    }),
    200,
    '{"model_name":"zipmap_int64","model_version":"219255b82042","outputs":[{"name":"output_probability","datatype":"FP32","shape":[1,3],"data":[0.2784971296787262,0.720112681388855,0.0013901445781812072]}]}',
  ],
  [
    "POST",
    "/models/zipmap_int64/predict",
    JSON.stringify({ float_input: [1, 2, 3] }),
    200,
    '{"output_label":20,"output_probability":{"10":0.2784971296787262,"20":0.720112681388855,"9007199254740993":0.0013901445781812072},"model_version":"219255b82042"}',
  ],
  [
    "POST",
    "/v2/models/mixed/infer",
    JSON.stringify({
      inputs: [{ name: "color", shape: [1], datatype: "BYTES", data: ["red"] }, {
        name: "features",
        shape: [1, 3],
        datatype: "FP32",
        data: [1.5, -2, 0.25],
      }, { name: "counts", shape: [1, 2], datatype: "INT64", data: [3, 7] }],
    }),
    200,
    '{"model_name":"mixed","model_version":"2c893d5b4904","outputs":[{"name":"variable","datatype":"FP32","shape":[1,1],"data":[0.5]}]}',
  ],
  [
    "GET",
    "/v2/models/churn",
    undefined,
    200,
    '{"name":"churn","versions":["0a47f628ec8b"],"platform":"onnx_onnxv1","inputs":[{"name":"gender","datatype":"BYTES","shape":[-1]},{"name":"SeniorCitizen","datatype":"FP64","shape":[-1]},{"name":"Partner","datatype":"BYTES","shape":[-1]},{"name":"Dependents","datatype":"BYTES","shape":[-1]},{"name":"tenure","datatype":"FP64","shape":[-1]},{"name":"PhoneService","datatype":"BYTES","shape":[-1]},{"name":"MultipleLines","datatype":"BYTES","shape":[-1]},{"name":"InternetService","datatype":"BYTES","shape":[-1]},{"name":"OnlineSecurity","datatype":"BYTES","shape":[-1]},{"name":"OnlineBackup","datatype":"BYTES","shape":[-1]},{"name":"DeviceProtection","datatype":"BYTES","shape":[-1]},{"name":"TechSupport","datatype":"BYTES","shape":[-1]},{"name":"StreamingTV","datatype":"BYTES","shape":[-1]},{"name":"StreamingMovies","datatype":"BYTES","shape":[-1]},{"name":"Contract","datatype":"BYTES","shape":[-1]},{"name":"PaperlessBilling","datatype":"BYTES","shape":[-1]},{"name":"PaymentMethod","datatype":"BYTES","shape":[-1]},{"name":"MonthlyCharges","datatype":"FP64","shape":[-1]},{"name":"TotalCharges","datatype":"FP64","shape":[-1]}],"outputs":[{"name":"churn_probability","datatype":"FP64","shape":[-1]},{"name":"churn","datatype":"BOOL","shape":[-1]}]}',
  ],
  ["GET", "/v2", undefined, 200, '{"name":"score","version":"1","extensions":[]}'],
  [
    "GET",
    "/v2/models/nope/ready",
    undefined,
    404,
    '{"error":"Unknown model \\"nope\\" (models: ride-duration-linreg, churn, zipmap_int64, nk-regressor, mixed)","code":"not_found"}',
  ],
];

Deno.test("REST answers: the exact text of each answer", async (t) => {
  const byom = join(FIXTURES, "models", "byom");
  const models = [
    await loadModel(join(MODELS, "ride-duration-linreg")),
    await loadModel(join(MODELS, "churn")),
    await loadModel(join(byom, "zipmap_int64")),
    await loadModel(join(byom, "nk_regressor")),
    await loadModel(join(byom, "mixed")),
  ];
  const app = createApp(new DataPlane(models, { version: "1" }), { accessLog: false });
  try {
    for (const [i, [method, path, body, status, text]] of CASES.entries()) {
      await t.step(`${i}: ${method} ${path} -> ${status}`, async () => {
        const res = await app.request(path, { method, body });
        assert.equal(await res.text(), text);
        assert.equal(res.status, status);
        assert.equal(res.headers.get("content-type"), "application/json");
      });
    }
  } finally {
    for (const m of models) await m.close();
  }
});
