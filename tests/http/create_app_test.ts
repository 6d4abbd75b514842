/**
 * The HTTP app through `app.request()`, without a port: every route, every
 * error case, auth, metrics, and dynamic batching correctness under many
 * concurrent distinct requests. Uses the shipped models.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createApp } from "../../src/http/create_app.ts";
import { DataPlane } from "../../src/serving/data_plane.ts";
import { loadModel, type Model } from "../../src/model/mod.ts";
import { MODELS } from "../helpers.ts";
import { COURSE_RIDE, COURSE_RIDE_DURATION, CUSTOMER } from "./requests.ts";

const CUSTOMER_PROBABILITY = 0.6363584152715288;

async function loadAll(): Promise<Model[]> {
  return [
    await loadModel(join(MODELS, "ride-duration-linreg")),
    await loadModel(join(MODELS, "churn")),
    await loadModel(join(MODELS, "ride-duration-rf")),
  ];
}

function post(path: string, body: unknown, headers: Record<string, string> = {}): RequestInit & { path: string } {
  return {
    path,
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
    headers: { "content-type": "application/json", ...headers },
  };
}

function rideInfer(rides: { PULocationID: number; DOLocationID: number; trip_distance: number }[]) {
  return {
    inputs: [
      { name: "PULocationID", shape: [rides.length], datatype: "INT64", data: rides.map((r) => r.PULocationID) },
      { name: "DOLocationID", shape: [rides.length], datatype: "INT64", data: rides.map((r) => r.DOLocationID) },
      { name: "trip_distance", shape: [rides.length], datatype: "FP64", data: rides.map((r) => r.trip_distance) },
    ],
  };
}

Deno.test("createApp answers the course's requests", async (t) => {
  const models = await loadAll();
  const [linreg, churn, rf] = models;
  const app = createApp(new DataPlane(models, { version: "9.9.9" }), { accessLog: false });
  const call = async (r: RequestInit & { path: string }) => {
    const res = await app.request(r.path, r);
    return {
      status: res.status,
      headers: res.headers,
      body: res.headers.get("content-type")?.includes("json") ? await res.json() : await res.text(),
    };
  };
  try {
    await t.step("POST /predict answers the course's ride exactly, with model_version", async () => {
      const { status, body } = await call(post("/predict", COURSE_RIDE));
      assert.deepEqual(status, 200);
      assert.deepEqual(body, { duration: COURSE_RIDE_DURATION, model_version: linreg.version });
    });

    await t.step("the churn model answers the course's customer (lower-case keys)", async () => {
      const { status, body } = await call(post("/models/churn/predict", CUSTOMER));
      assert.deepEqual(status, 200);
      assert.deepEqual(body, { churn_probability: CUSTOMER_PROBABILITY, churn: true, model_version: churn.version });
    });

    await t.step("rows of one request may name a feature by its input name or by an alias", async () => {
      const csvForm = Object.fromEntries(
        Object.entries(CUSTOMER).map(([k, v]) => [churn.inputs.find((i) => i.aliases.includes(k))?.name ?? k, v]),
      );
      assert.notDeepEqual(Object.keys(csvForm), Object.keys(CUSTOMER));
      const { status, body } = await call(post("/models/churn/predict", [csvForm, CUSTOMER]));
      assert.deepEqual(status, 200, JSON.stringify(body));
      assert.deepEqual(body.map((r: { churn_probability: number }) => r.churn_probability), [
        CUSTOMER_PROBABILITY,
        CUSTOMER_PROBABILITY,
      ]);
    });

    await t.step("the random forest answers with its MLflow run id as version", async () => {
      const { status, body } = await call(
        post("/models/ride-duration-rf/predict", { PULocationID: 130, DOLocationID: 205, trip_distance: 3.66 }),
      );
      assert.deepEqual(status, 200);
      assert.deepEqual(body.model_version, "e1efc53e9bd149078b0c12aeaa6365df");
      assert.deepEqual(Math.round(body.duration * 100) / 100, 21.29);
      assert.deepEqual(rf.version, "e1efc53e9bd149078b0c12aeaa6365df");
    });

    await t.step("request shapes: object, array, instances, positional instances", async (t) => {
      const other = { PULocationID: 130, DOLocationID: 205, trip_distance: 3.66 };
      const one = (await call(post("/predict", other))).body;
      const cases: [string, unknown, unknown][] = [
        ["array", [COURSE_RIDE, other], [{ duration: COURSE_RIDE_DURATION, model_version: linreg.version }, one]],
        ["instances", { instances: [COURSE_RIDE, other] }, {
          predictions: [{ duration: COURSE_RIDE_DURATION, model_version: linreg.version }, one],
          model_name: "ride-duration-linreg",
          model_version: linreg.version,
        }],
        ["positional instances", { instances: [[10, 50, 40]] }, {
          predictions: [{ duration: COURSE_RIDE_DURATION, model_version: linreg.version }],
          model_name: "ride-duration-linreg",
          model_version: linreg.version,
        }],
        ["numbers as strings", { PULocationID: "10", DOLocationID: "50", trip_distance: "40" }, {
          duration: COURSE_RIDE_DURATION,
          model_version: linreg.version,
        }],
      ];
      for (const [name, body, expected] of cases) {
        await t.step(name, async () => {
          const res = await call(post("/models/ride-duration-linreg/predict", body));
          assert.deepEqual(res.status, 200, JSON.stringify(res.body));
          assert.deepEqual(res.body, expected);
        });
      }
    });

    await t.step("OIP v2: server metadata, health, model metadata and readiness", async () => {
      assert.deepEqual((await call({ path: "/v2" })).body, { name: "score", version: "9.9.9", extensions: [] });
      for (
        const path of [
          "/v2/health/live",
          "/v2/health/ready",
          "/v2/models/churn/ready",
          `/v2/models/churn/versions/${churn.version}/ready`,
        ]
      ) {
        const res = await call({ path });
        assert.deepEqual([path, res.status, res.body], [path, 200, ""]);
      }
      const linMeta = (await call({ path: "/v2/models/ride-duration-linreg" })).body;
      assert.deepEqual(linMeta, {
        name: "ride-duration-linreg",
        versions: [linreg.version],
        platform: "onnx_onnxv1",
        inputs: [
          { name: "PULocationID", datatype: "INT64", shape: [-1] },
          { name: "DOLocationID", datatype: "INT64", shape: [-1] },
          { name: "trip_distance", datatype: "FP64", shape: [-1] },
        ],
        outputs: [{ name: "duration", datatype: "FP64", shape: [-1] }],
      });
      const rfMeta =
        (await call({ path: "/v2/models/ride-duration-rf/versions/e1efc53e9bd149078b0c12aeaa6365df" })).body;
      assert.deepEqual(rfMeta.versions, ["e1efc53e9bd149078b0c12aeaa6365df"]);
      assert.deepEqual(rfMeta.platform, "onnx_onnxv1");
      const churnMeta = (await call({ path: "/v2/models/churn" })).body;
      assert.deepEqual(churnMeta.inputs.length, 19);
      assert.deepEqual(churnMeta.inputs.find((i: { name: string }) => i.name === "Contract"), {
        name: "Contract",
        datatype: "BYTES",
        shape: [-1],
      });
      assert.deepEqual(churnMeta.outputs.map((o: { name: string; datatype: string }) => [o.name, o.datatype]), [[
        "churn_probability",
        "FP64",
      ], ["churn", "BOOL"]]);
    });

    await t.step("OIP v2 infer: flat and nested data, id echoed, output selection, all three models", async () => {
      const flat = await call(
        post("/v2/models/ride-duration-linreg/infer", { id: "req-1", ...rideInfer([COURSE_RIDE]) }),
      );
      assert.deepEqual(flat.status, 200);
      assert.deepEqual(flat.body, {
        model_name: "ride-duration-linreg",
        model_version: linreg.version,
        id: "req-1",
        outputs: [{ name: "duration", datatype: "FP64", shape: [1], data: [COURSE_RIDE_DURATION] }],
      });
      const nested = rideInfer([COURSE_RIDE, COURSE_RIDE]);
      for (const i of nested.inputs) Object.assign(i, { shape: [2, 1], data: i.data.map((v) => [v]) });
      const n = await call(post(`/v2/models/ride-duration-linreg/versions/${linreg.version}/infer`, nested));
      assert.deepEqual(n.status, 200, JSON.stringify(n.body));
      assert.deepEqual(n.body.outputs[0].data, [COURSE_RIDE_DURATION, COURSE_RIDE_DURATION]);
      assert.deepEqual(n.body.id, undefined);

      const rfRes = await call(
        post(
          "/v2/models/ride-duration-rf/infer",
          rideInfer([{ PULocationID: 130, DOLocationID: 205, trip_distance: 3.66 }]),
        ),
      );
      assert.deepEqual(Math.round(rfRes.body.outputs[0].data[0] * 100) / 100, 21.29);

      const churnInputs = churn.inputs.map((input) => {
        const value = Object.entries(CUSTOMER).find(([k]) => k === input.name || input.aliases.includes(k))![1];
        const datatype = {
          string: "BYTES",
          int64: "INT64",
          float64: "FP64",
          float32: "FP32",
          bool: "BOOL",
        }[input.type as string]!;
        return { name: input.name, shape: [1], datatype, data: [value] };
      });
      const all = await call(post("/v2/models/churn/infer", { inputs: churnInputs }));
      assert.deepEqual(all.status, 200, JSON.stringify(all.body));
      assert.deepEqual(all.body.outputs, [
        { name: "churn_probability", datatype: "FP64", shape: [1], data: [CUSTOMER_PROBABILITY] },
        { name: "churn", datatype: "BOOL", shape: [1], data: [true] },
      ]);
      const only = await call(post("/v2/models/churn/infer", { inputs: churnInputs, outputs: [{ name: "churn" }] }));
      assert.deepEqual(only.body.outputs, [{ name: "churn", datatype: "BOOL", shape: [1], data: [true] }]);
    });

    await t.step("GET /openapi.json describes every route and each model's inputs", async () => {
      const { status, body } = await call({ path: "/openapi.json" });
      assert.deepEqual(status, 200);
      assert.deepEqual(body.openapi, "3.1.0");
      // Every route the app serves, for every model, with the methods it answers.
      for (const route of app.routes.filter((r) => r.method !== "ALL")) {
        for (const model of models) {
          const path = route.path.replace(":name", model.name).replace(":version", model.version);
          const documented = body.paths[path]?.[route.method.toLowerCase()];
          assert.ok(documented !== undefined, `${route.method} ${path} is not in /openapi.json`);
        }
      }
      const features = body.components.schemas.RideDurationLinregFeatures;
      assert.deepEqual(features.required, ["PULocationID", "DOLocationID", "trip_distance"]);
      assert.deepEqual(features.properties.trip_distance.type, "number");
      assert.deepEqual(features.properties.PULocationID.type, "integer");
      assert.match(body.components.schemas.ChurnFeatures.properties.Contract.description, /contract/);
    });

    await t.step("X-Request-Id is echoed; an error carries one, generated when none was sent", async () => {
      const echoed = await app.request("/v2/health/live", { headers: { "x-request-id": "abc-123" } });
      assert.deepEqual(echoed.headers.get("x-request-id"), "abc-123");
      const failed = await app.request("/predict", {
        method: "POST",
        body: "{",
        headers: { "x-request-id": "abc-456" },
      });
      assert.deepEqual([failed.status, failed.headers.get("x-request-id")], [400, "abc-456"]);
      await failed.body?.cancel();
      const wrongMethod = await app.request("/predict");
      assert.deepEqual([wrongMethod.status, wrongMethod.headers.get("allow")], [405, "POST"]);
      await wrongMethod.body?.cancel();
      // Without one: none on a success (an extra header costs Deno's fast path), a generated one on an error; the
      // /predict fast path and the routes behind it (the trailing slash) alike.
      for (const path of ["/predict", "/predict/"]) {
        const ride = { PULocationID: 10, DOLocationID: 50, trip_distance: 40 };
        const ok = await app.request(path, { method: "POST", body: JSON.stringify(ride) });
        assert.deepEqual([ok.status, ok.headers.get("x-request-id")], [200, null], path);
        await ok.body?.cancel();
        const bad = await app.request(path, { method: "POST", body: "{" });
        assert.equal(bad.status, 400);
        assert.match(bad.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/, path);
        await bad.body?.cancel();
      }
      const live = await app.request("/v2/health/live");
      assert.deepEqual([live.status, live.headers.get("x-request-id")], [200, null]);
      const missing = await app.request("/nowhere");
      assert.match(missing.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
      await missing.body?.cancel();
    });

    await t.step("bad input gets a JSON error naming the problem, never a 500 or a stack", async (t) => {
      const ok = rideInfer([COURSE_RIDE]);
      const cases: [string, RequestInit & { path: string }, number, RegExp][] = [
        ["malformed JSON", post("/predict", '{"PULocationID": 10,'), 400, /not valid JSON/],
        [
          "bytes that are not UTF-8 (Latin-1)",
          {
            ...post("/predict", ""),
            body: new Uint8Array([...new TextEncoder().encode('{"a": "caf'), 0xe9, 0x22, 0x7d]),
          },
          400,
          /not UTF-8 text/,
        ],
        ["empty body", post("/predict", ""), 400, /empty/],
        ["a JSON string", post("/predict", '"hello"'), 400, /JSON object/],
        ["an array of numbers", post("/predict", "[1, 2]"), 400, /row 0 is not a JSON object/],
        ["no rows", post("/predict", "[]"), 400, /no rows/],
        ["instances not a list", post("/predict", { instances: 3 }), 400, /"instances"/],
        ["missing field", post("/predict", { PULocationID: 10, DOLocationID: 50 }), 422, /"trip_distance"/],
        [
          "missing field in one row",
          post("/predict", [COURSE_RIDE, { PULocationID: 1, DOLocationID: 2 }]),
          422,
          /row 1: field "trip_distance" is missing/,
        ],
        [
          "null field",
          post("/predict", { ...COURSE_RIDE, trip_distance: null }),
          422,
          /column "trip_distance" is missing \(expected a number\)/,
        ],
        [
          "wrongly typed field",
          post("/predict", { ...COURSE_RIDE, trip_distance: "forty" }),
          422,
          /"trip_distance" is not a number/,
        ],
        [
          "wrongly typed integer",
          post("/predict", [COURSE_RIDE, { ...COURSE_RIDE, PULocationID: 1.5 }]),
          422,
          /row 1: column "PULocationID" is not an integer/,
        ],
        ["unknown model", post("/models/nope/predict", COURSE_RIDE), 404, /Unknown model "nope"/],
        ["unknown route", { path: "/nope" }, 404, /No route GET \/nope/],
        ["GET on a POST route", { path: "/predict" }, 405, /GET is not allowed on \/predict; use POST/],
        ["POST on a GET route", post("/v2/models/churn", {}), 405, /use GET, HEAD/],
        ["unknown model version", { path: "/v2/models/churn/versions/0/ready" }, 404, /no version "0"/],
        ["OIP not an object", post("/v2/models/ride-duration-linreg/infer", "[]"), 400, /"inputs"/],
        [
          "OIP unknown input",
          post("/v2/models/ride-duration-linreg/infer", {
            inputs: [...ok.inputs, { name: "x", shape: [1], datatype: "FP64", data: [1] }],
          }),
          400,
          /Unknown input "x"/,
        ],
        [
          "OIP missing input",
          post("/v2/models/ride-duration-linreg/infer", { inputs: ok.inputs.slice(1) }),
          400,
          /Missing input .*"PULocationID"/,
        ],
        [
          "OIP wrong datatype",
          post("/v2/models/ride-duration-linreg/infer", {
            inputs: [{ ...ok.inputs[0], datatype: "FP32" }, ...ok.inputs.slice(1)],
          }),
          400,
          /"PULocationID" has datatype "FP32"; the model expects INT64/,
        ],
        [
          "OIP shape and data disagree",
          post("/v2/models/ride-duration-linreg/infer", {
            inputs: [{ ...ok.inputs[0], shape: [2] }, ...ok.inputs.slice(1)],
          }),
          400,
          /has 1 values but its shape \[2\]/,
        ],
        [
          "OIP rows disagree",
          post("/v2/models/ride-duration-linreg/infer", {
            inputs: [ok.inputs[0], ok.inputs[1], { ...ok.inputs[2], shape: [2], data: [1, 2] }],
          }),
          400,
          /2 rows but another input has 1/,
        ],
        [
          "OIP INT64 beyond int64: the error names the digits sent",
          post(
            "/v2/models/ride-duration-linreg/infer",
            JSON.stringify(ok).replace('"data":[10]', '"data":[9223372036854775808]'),
          ),
          400,
          /"PULocationID" element 0 is 9223372036854775808, not a valid INT64 value/,
        ],
        [
          "OIP value of the wrong type",
          post("/v2/models/ride-duration-linreg/infer", {
            inputs: [ok.inputs[0], ok.inputs[1], { ...ok.inputs[2], data: ["x"] }],
          }),
          400,
          /"trip_distance" element 0 is "x", not a valid FP64/,
        ],
        [
          "a huge bad value is not echoed whole",
          post("/predict", { ...COURSE_RIDE, PULocationID: Array.from({ length: 20_000 }, (_, i) => i) }),
          422,
          /^column "PULocationID" is not an integer \(got \[0,1,2,.{0,80}…\)$/,
        ],
        [
          "OIP data nested deeper than the shape",
          post("/v2/models/ride-duration-linreg/infer", {
            inputs: [
              { ...ok.inputs[0], data: JSON.parse("[".repeat(100_000) + "1" + "]".repeat(100_000)) },
              ...ok.inputs.slice(1),
            ],
          }),
          400,
          /"PULocationID" element 0 is a list \(nested deeper than the shape\)/,
        ],
        [
          "OIP unknown output",
          post("/v2/models/ride-duration-linreg/infer", { ...ok, outputs: [{ name: "nope" }] }),
          400,
          /Unknown output "nope"/,
        ],
        ["OIP unknown model", post("/v2/models/nope/infer", ok), 404, /Unknown model/],
      ];
      for (const [name, req, status, message] of cases) {
        await t.step(name, async () => {
          const res = await call(req);
          assert.deepEqual(res.status, status, JSON.stringify(res.body));
          assert.deepEqual(typeof res.body.error, "string");
          assert.match(res.body.error, message);
          assert.doesNotMatch(JSON.stringify(res.body), /\bat .*\.ts:\d+/);
        });
      }
    });

    await t.step("metrics count requests by model, version, route and status, batches and rejections", async () => {
      const res = await app.request("/metrics");
      assert.deepEqual(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      assert.match(
        text,
        /^score_http_requests_total\{model="ride-duration-linreg",version="[0-9a-f]{12}",route="\/predict",status="200",protocol="rest"\} \d+$/m,
      );
      assert.match(text, /^score_http_requests_total\{model="",route="\/\*",status="404",protocol="rest"\} \d+$/m);
      assert.match(
        text,
        /^score_http_request_duration_seconds_bucket\{le="\+Inf",model="churn",version="[^"]+",route="\/models\/:name\/predict",protocol="rest"\} \d+$/m,
      );
      assert.match(text, /^score_batch_rows_count\{model="ride-duration-linreg",version="[0-9a-f]{12}"\} \d+$/m);
      assert.match(text, /^score_queue_rows\{model="churn"\} 0$/m);
      assert.match(
        text,
        /^score_model_info\{model="ride-duration-rf",version="e1efc53e9bd149078b0c12aeaa6365df"\} 1$/m,
      );
    });
  } finally {
    for (const m of models) await m.close();
  }
});

Deno.test("createApp limits: 413 over --max-body-bytes, 503 with Retry-After when the queue is full, readiness", async (t) => {
  const model = await loadModel(join(MODELS, "ride-duration-linreg"));
  let ready = true;
  // A long batch delay keeps the first requests queued while the next one arrives.
  const plane = new DataPlane([model], { batching: { maxQueue: 2, maxDelayMs: 300 }, isReady: () => ready });
  const app = createApp(plane, { accessLog: false, maxBodyBytes: 200, maxBodyBytesName: "--max-body-bytes" });
  try {
    await t.step("a body over the limit is 413, declared or chunked", async () => {
      const big = JSON.stringify(Array.from({ length: 10 }, () => COURSE_RIDE));
      const declared = await app.request("/predict", {
        method: "POST",
        body: big,
        headers: { "content-length": String(big.length) },
      });
      assert.deepEqual(declared.status, 413);
      assert.match((await declared.json()).error, /larger than 200 bytes \(--max-body-bytes\)$/);
      const chunked = await app.request("/predict", {
        method: "POST",
        body: ReadableStream.from([new TextEncoder().encode(big)]),
      });
      assert.deepEqual(chunked.status, 413);
      await chunked.body?.cancel();
      const small = await app.request("/predict", { method: "POST", body: JSON.stringify(COURSE_RIDE) });
      assert.deepEqual(small.status, 200);
      await small.body?.cancel();
    });

    await t.step("past --max-queue rows: 503 with Retry-After, the queued ones are answered", async () => {
      const responses = await Promise.all(
        [0, 1, 2].map((i) =>
          app.request("/predict", { method: "POST", body: JSON.stringify({ ...COURSE_RIDE, trip_distance: i }) })
        ),
      );
      assert.deepEqual(responses.map((r) => r.status), [200, 200, 503]);
      assert.deepEqual(responses[2].headers.get("retry-after"), "1");
      assert.match((await responses[2].json()).error, /Too many rows waiting/);
      for (const r of responses.slice(0, 2)) await r.body?.cancel();
      const metrics = await (await app.request("/metrics")).text();
      assert.match(metrics, /^score_rejected_requests_total\{reason="queue_full"\} 1$/m);
      assert.match(metrics, /^score_rejected_requests_total\{reason="body_too_large"\} 2$/m);
    });

    await t.step("requests in flight: counted until answered, the scrape itself among them", async () => {
      const inFlight = async () =>
        Number(/^score_http_requests_in_flight (\d+)$/m.exec(await (await app.request("/metrics")).text())?.[1]);
      assert.equal(await inFlight(), 1);
      // Held by the batch delay while the scrape runs.
      const held = app.request("/predict", { method: "POST", body: JSON.stringify(COURSE_RIDE) });
      assert.equal(await inFlight(), 2);
      await (await held).body?.cancel();
      assert.equal(await inFlight(), 1);
    });

    await t.step("readiness follows isReady, liveness does not", async () => {
      ready = false;
      assert.deepEqual((await app.request("/v2/health/ready")).status, 400);
      assert.deepEqual((await app.request("/v2/models/ride-duration-linreg/ready")).status, 400);
      assert.deepEqual((await app.request("/v2/health/live")).status, 200);
    });
  } finally {
    await model.close();
  }
});

Deno.test("createApp with an API key: 401 without it, health exempt", async (t) => {
  const model = await loadModel(join(MODELS, "ride-duration-linreg"));
  const app = createApp(new DataPlane([model]), { accessLog: false, apiKey: "s3cret-key" });
  try {
    const cases: [string, string, Record<string, string>, number][] = [
      ["no header", "/predict", {}, 401],
      ["wrong key", "/predict", { authorization: "Bearer wrong" }, 401],
      ["a prefix of the key", "/predict", { authorization: "Bearer s3cret" }, 401],
      ["not a bearer", "/predict", { authorization: "Basic czNjcmV0LWtleQ==" }, 401],
      ["the key", "/predict", { authorization: "Bearer s3cret-key" }, 200],
      ["metrics need it", "/metrics", {}, 401],
      ["metadata needs it", "/v2/models/ride-duration-linreg", {}, 401],
      ["liveness is exempt", "/v2/health/live", {}, 200],
      ["readiness is exempt", "/v2/health/ready", {}, 200],
    ];
    for (const [name, path, headers, status] of cases) {
      await t.step(name, async () => {
        const method = path === "/predict" ? "POST" : "GET";
        const res = await app.request(path, {
          method,
          headers,
          body: method === "POST" ? JSON.stringify(COURSE_RIDE) : undefined,
        });
        assert.deepEqual(res.status, status);
        if (status === 401) {
          assert.deepEqual(res.headers.get("www-authenticate"), `Bearer realm="score"`);
          assert.match((await res.json()).error, /API key/);
        } else await res.body?.cancel();
      });
    }
  } finally {
    await model.close();
  }
});

Deno.test("dynamic batching: 200 concurrent distinct requests each get exactly their own rows and outputs", async (t) => {
  const [linreg, churn] = [
    await loadModel(join(MODELS, "ride-duration-linreg")),
    await loadModel(join(MODELS, "churn")),
  ];
  try {
    // The expected answers, each scored alone.
    const rides = Array.from(
      { length: 200 },
      (_, i) => ({ PULocationID: 1 + (i * 7) % 260, DOLocationID: 1 + (i * 13) % 260, trip_distance: 0.5 + i * 0.25 }),
    );
    const expected: number[] = [];
    for (const r of rides) {
      expected.push(
        (await linreg.predict({
          PULocationID: [r.PULocationID],
          DOLocationID: [r.DOLocationID],
          trip_distance: [r.trip_distance],
        }, 1)).columns.duration[0] as number,
      );
    }
    assert.deepEqual(new Set(expected).size, 200, "the test needs distinct answers");
    const app = createApp(new DataPlane([linreg, churn], { batching: { maxBatchSize: 64, maxDelayMs: 5 } }), {
      accessLog: false,
    });

    await t.step("course-shaped requests of 1 to 3 rows, object, array and instances mixed", async () => {
      const results = await Promise.all(rides.map(async (ride, i) => {
        const rows = i % 3 === 0
          ? [ride]
          : i % 3 === 1
          ? [ride, rides[(i + 1) % 200]]
          : [ride, rides[(i + 1) % 200], rides[(i + 2) % 200]];
        const body = i % 3 === 0 ? ride : i % 3 === 1 ? rows : { instances: rows };
        const res = await app.request("/predict", { method: "POST", body: JSON.stringify(body) });
        const json = await res.json();
        const got = i % 3 === 0 ? [json] : i % 3 === 1 ? json : json.predictions;
        return { i, rows: rows.length, got: got.map((g: { duration: number }) => g.duration) };
      }));
      for (const { i, rows, got } of results) {
        assert.deepEqual(got, Array.from({ length: rows }, (_, k) => expected[(i + k) % 200]), `request ${i}`);
      }
    });

    await t.step("OIP requests with different output selections for the same model", async () => {
      const customers = Array.from(
        { length: 200 },
        (_, i) => ({ ...CUSTOMER, tenure: i % 72, monthlycharges: 20 + i * 0.5, totalcharges: 20 + i * 7 }),
      );
      const alone: { p: number; churn: boolean }[] = [];
      for (const c of customers) {
        const res = await app.request("/models/churn/predict", { method: "POST", body: JSON.stringify(c) });
        const j = await res.json();
        alone.push({ p: j.churn_probability, churn: j.churn });
      }
      const selections = [undefined, [{ name: "churn" }], [{ name: "churn_probability" }], [{ name: "churn" }, {
        name: "churn_probability",
      }]];
      const results = await Promise.all(customers.map(async (c, i) => {
        const inputs = churn.inputs.map((input) => {
          const value = Object.entries(c).find(([k]) => k === input.name || input.aliases.includes(k))![1];
          const datatype = input.type === "string" ? "BYTES" : input.type === "int64" ? "INT64" : "FP64";
          return { name: input.name, shape: [1], datatype, data: [value] };
        });
        const res = await app.request("/v2/models/churn/infer", {
          method: "POST",
          body: JSON.stringify({ id: `c${i}`, inputs, outputs: selections[i % 4] }),
        });
        return { i, body: await res.json() };
      }));
      for (const { i, body } of results) {
        assert.deepEqual(body.id, `c${i}`);
        const names = (selections[i % 4] ?? [{ name: "churn_probability" }, { name: "churn" }]).map(({ name }) => name);
        assert.deepEqual(
          body.outputs.map((o: { name: string; shape: number[] }) => [o.name, o.shape]),
          names.map((n) => [n, [1]]),
          `request ${i}`,
        );
        for (const o of body.outputs) {
          if (o.name === "churn") assert.deepEqual(o.data, [alone[i].churn], `request ${i}`);
          // A merged run may differ from a lone one in the last bit (the matrix product is blocked differently).
          else assert.ok(Math.abs(o.data[0] - alone[i].p) < 1e-12, `request ${i}: ${o.data[0]} vs ${alone[i].p}`);
        }
      }
    });

    await t.step("requests were merged: some model runs had more than one row", async () => {
      const text = await (await app.request("/metrics")).text();
      const count = Number(
        /^score_batch_rows_count\{model="ride-duration-linreg",version="[0-9a-f]{12}"\} (\d+)$/m.exec(text)![1],
      );
      const sum = Number(
        /^score_batch_rows_sum\{model="ride-duration-linreg",version="[0-9a-f]{12}"\} (\d+)$/m.exec(text)![1],
      );
      assert.deepEqual(sum, 67 * 1 + 67 * 2 + 66 * 3, "every row scored once");
      assert.ok(count < 200, `expected merged runs, got ${count} runs for 200 requests`);
    });
  } finally {
    await linreg.close();
    await churn.close();
  }
});

Deno.test("createApp: a client that hangs up mid-body is a 499 logged at info, not a 500", async (t) => {
  const model = await loadModel(join(MODELS, "ride-duration-linreg"));
  const app = createApp(new DataPlane([model]), { accessLog: false });
  const logged: string[] = [];
  const write = Deno.stderr.writeSync;
  Deno.stderr.writeSync = (p: Uint8Array) => (logged.push(new TextDecoder().decode(p)), p.length);
  try {
    for (const declared of [true, false]) {
      await t.step(declared ? "with a Content-Length" : "chunked", async () => {
        // Half a body, then the connection goes away.
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(new TextEncoder().encode('{"PULocationID": 10, "DOLoc'));
          },
          pull(c) {
            c.error(new Error("Cannot read body as underlying resource unavailable"));
          },
        });
        const headers: Record<string, string> = declared ? { "content-length": "200" } : {};
        const res = await app.request("/predict", { method: "POST", body, headers, duplex: "half" } as RequestInit);
        assert.equal(res.status, 499);
        assert.equal((await res.json()).code, "client_closed_request");
      });
    }
  } finally {
    Deno.stderr.writeSync = write;
    await model.close();
  }
  const lines = logged.join("").split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.level, l.msg]), [["info", "client closed the request"], [
    "info",
    "client closed the request",
  ]]);
  const metrics = await (await app.request("/metrics")).text();
  assert.match(metrics, /status="499"[^\n]* 2$/m);
  assert.doesNotMatch(metrics, /status="500"/);
});

Deno.test("createApp: a number beyond float64 (1e999) is named as sent, not as null", async () => {
  const model = await loadModel(join(MODELS, "ride-duration-linreg"));
  const app = createApp(new DataPlane([model]), { accessLog: false });
  try {
    for (const [text, shown] of [["1e999", "Infinity"], ["-1e999", "-Infinity"]]) {
      const res = await app.request("/predict", {
        method: "POST",
        body: `{"PULocationID": 10, "DOLocationID": 50, "trip_distance": ${text}}`,
      });
      assert.equal(res.status, 422);
      assert.equal((await res.json()).error, `column "trip_distance" is not a finite number (got ${shown})`);
    }
  } finally {
    await model.close();
  }
});
