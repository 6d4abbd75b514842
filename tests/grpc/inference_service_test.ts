/**
 * The gRPC service over real HTTP/2 (a grpc-js client of the shipped
 * proto): every method, typed and raw contents of every datatype, output
 * selection, errors with their codes and REST's words, the API key,
 * cancel and deadline counted as such, a REST and a gRPC request in one
 * model run, and a reload under gRPC load that fails no call.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { inferenceService, listenGrpc } from "../../src/grpc/mod.ts";
import { bearerToken } from "../../src/http/bearer_token.ts";
import { createApp } from "../../src/http/create_app.ts";
import { loadModel, type Model } from "../../src/model/mod.ts";
import { AccessLog } from "../../src/serving/access_log.ts";
import { DataPlane, type DataPlaneOptions } from "../../src/serving/data_plane.ts";
import { observePlane, RequestEnvelope } from "../../src/serving/envelope.ts";
import { Metrics } from "../../src/serving/metrics.ts";
import { jsonText, parseJson } from "../../src/value_codec.ts";
import { MODELS, tempDir, waitUntil } from "../helpers.ts";
import { collector } from "../http/line_collector.ts";
import { COURSE_RIDE, COURSE_RIDE_DURATION } from "../http/requests.ts";
import { inferenceClient } from "./client.ts";

/** A data plane served over REST (in process) and gRPC (on a free port), sharing one envelope. */
async function serveBoth(models: Model[], options: DataPlaneOptions = {}, apiKey?: string) {
  const plane = new DataPlane(models, options);
  const metrics = new Metrics();
  const log = collector();
  const envelope = new RequestEnvelope(metrics, new AccessLog(log.out));
  observePlane(metrics, plane);
  const app = createApp(plane, { envelope, apiKey });
  const checkKey = apiKey === undefined ? undefined : bearerToken(apiKey);
  const server = await listenGrpc(inferenceService(plane, envelope, { checkKey }), {
    hostname: "127.0.0.1",
    port: 0,
    maxMessageBytes: 1_048_576,
  });
  const client = inferenceClient(`127.0.0.1:${server.port}`);
  return {
    plane,
    app,
    client,
    metrics,
    log,
    rest: async (path: string, body?: unknown, headers: Record<string, string> = {}) => {
      const res = await app.request(
        path,
        body === undefined ? { headers } : {
          method: "POST",
          body: JSON.stringify(body),
          headers: { "content-type": "application/json", ...headers },
        },
      );
      return { status: res.status, body: parseJson(await res.text()) as any };
    },
    async [Symbol.asyncDispose]() {
      client.close();
      await server.shutdown();
      await plane.drain();
    },
  };
}

/** The course's ride as a ModelInfer request with typed contents. */
function rideRequest(model: string, n = 1) {
  return {
    model_name: model,
    id: "ride-1",
    inputs: [
      { name: "PULocationID", datatype: "INT64", shape: [n], contents: { int64_contents: Array(n).fill("10") } },
      { name: "DOLocationID", datatype: "INT64", shape: [n], contents: { int64_contents: Array(n).fill("50") } },
      { name: "trip_distance", datatype: "FP64", shape: [n], contents: { fp64_contents: Array(n).fill(40) } },
    ],
  };
}

/** The same ride for REST's /v2 infer. */
function rideJson(n = 1) {
  return {
    inputs: [
      { name: "PULocationID", datatype: "INT64", shape: [n], data: Array(n).fill(COURSE_RIDE.PULocationID) },
      { name: "DOLocationID", datatype: "INT64", shape: [n], data: Array(n).fill(COURSE_RIDE.DOLocationID) },
      { name: "trip_distance", datatype: "FP64", shape: [n], data: Array(n).fill(COURSE_RIDE.trip_distance) },
    ],
  };
}

/** One value of each type per row, the extremes included; float NaN on the last row (JSON cannot carry it). */
const ALL_TYPES: Record<string, { datatype: string; field: string; values: unknown[]; raw: (v: any[]) => Buffer }> = {
  bool: {
    datatype: "BOOL",
    field: "bool_contents",
    values: [true, false, true],
    raw: (v) => Buffer.from(v.map(Number)),
  },
  int8: { datatype: "INT8", field: "int_contents", values: [-128, 0, 127], raw: (v) => bytes(Int8Array.from(v)) },
  int16: {
    datatype: "INT16",
    field: "int_contents",
    values: [-32768, 1, 32767],
    raw: (v) => bytes(Int16Array.from(v)),
  },
  int32: {
    datatype: "INT32",
    field: "int_contents",
    values: [-2147483648, 2, 2147483647],
    raw: (v) => bytes(Int32Array.from(v)),
  },
  int64: {
    datatype: "INT64",
    field: "int64_contents",
    values: ["-9223372036854775808", "9007199254740993", "9223372036854775807"],
    raw: (v) => bytes(BigInt64Array.from(v.map(BigInt))),
  },
  uint8: { datatype: "UINT8", field: "uint_contents", values: [0, 1, 255], raw: (v) => bytes(Uint8Array.from(v)) },
  uint16: { datatype: "UINT16", field: "uint_contents", values: [0, 2, 65535], raw: (v) => bytes(Uint16Array.from(v)) },
  uint32: {
    datatype: "UINT32",
    field: "uint_contents",
    values: [0, 3, 4294967295],
    raw: (v) => bytes(Uint32Array.from(v)),
  },
  uint64: {
    datatype: "UINT64",
    field: "uint64_contents",
    values: ["0", "9007199254740993", "18446744073709551615"],
    raw: (v) => bytes(BigUint64Array.from(v.map(BigInt))),
  },
  float32: {
    datatype: "FP32",
    field: "fp32_contents",
    values: [1.5, -3.4028234663852886e38, NaN],
    raw: (v) => bytes(Float32Array.from(v)),
  },
  float64: {
    datatype: "FP64",
    field: "fp64_contents",
    values: [0.1, -1.7976931348623157e308, NaN],
    raw: (v) => bytes(Float64Array.from(v)),
  },
  string: {
    datatype: "BYTES",
    field: "bytes_contents",
    values: ["", "é-ü", "a longer text"],
    raw: (v) => Buffer.concat(v.map((s: string) => lengthPrefixed(Buffer.from(s)))),
  },
};

function bytes(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function lengthPrefixed(b: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeUInt32LE(b.length);
  return Buffer.concat([size, b]);
}

/** The all-types model's request: typed contents (BYTES as Buffers) or raw. */
function allTypesRequest(raw: boolean) {
  const inputs = Object.entries(ALL_TYPES).map(([type, t]) => {
    const tensor: Record<string, unknown> = { name: `x_${type}`, datatype: t.datatype, shape: [3] };
    if (!raw) {
      tensor.contents = { [t.field]: type === "string" ? t.values.map((s) => Buffer.from(s as string)) : t.values };
    }
    return tensor;
  });
  const request: Record<string, unknown> = { model_name: "all_types", inputs };
  if (raw) request.raw_input_contents = Object.values(ALL_TYPES).map((t) => t.raw(t.values));
  return request;
}

Deno.test("gRPC inference service", async (t) => {
  await using dir = await tempDir();
  const allTypesPath = join(dir.path, "all_types.onnx");
  const made = await new Deno.Command("/usr/bin/python3", {
    args: [join(import.meta.dirname!, "all_types_model.py"), allTypesPath],
  }).output();
  assert.equal(made.code, 0, new TextDecoder().decode(made.stderr));
  const linreg = await loadModel(join(MODELS, "ride-duration-linreg"));
  const churn = await loadModel(join(MODELS, "churn"));
  const allTypes = await loadModel(allTypesPath, { manifest: { name: "all_types" } });
  await using s = await serveBoth([linreg, churn, allTypes], { version: "9.9.9" });
  const { client } = s;

  await t.step("ServerLive, ServerReady and ServerMetadata answer as REST's /v2", async () => {
    assert.deepEqual((await client.call("ServerLive", {})).response, { live: true });
    assert.deepEqual((await client.call("ServerReady", {})).response, { ready: true });
    const meta = await client.call("ServerMetadata", {});
    const rest = await s.rest("/v2");
    assert.deepEqual({ extensions: [], ...meta.response }, rest.body);
  });

  await t.step(
    "ModelReady and ModelMetadata describe the model as REST does; an unknown one is NOT_FOUND",
    async () => {
      assert.deepEqual((await client.call("ModelReady", { name: linreg.name })).response, { ready: true });
      assert.deepEqual((await client.call("ModelReady", { name: linreg.name, version: linreg.version })).response, {
        ready: true,
      });
      const meta = await client.call("ModelMetadata", { name: churn.name });
      const rest = (await s.rest(`/v2/models/${churn.name}`)).body;
      const strip = (ts: any[]) =>
        ts.map(({ name, datatype, shape }) => ({ name, datatype, shape: shape.map(String) }));
      assert.deepEqual(meta.response, {
        name: rest.name,
        versions: rest.versions,
        platform: rest.platform,
        inputs: strip(rest.inputs),
        outputs: strip(rest.outputs),
      });
      for (
        const [method, request, path] of [
          ["ModelMetadata", { name: "nope" }, "/v2/models/nope"],
          ["ModelReady", { name: linreg.name, version: "v0" }, `/v2/models/${linreg.name}/versions/v0/ready`],
          ["ModelInfer", { ...rideRequest("nope") }, "/v2/models/nope"],
        ] as const
      ) {
        const out = await client.call(method, request);
        assert.equal(out.code, "NOT_FOUND", method);
        assert.equal(out.details, (await s.rest(path)).body.error, method);
      }
    },
  );

  await t.step("ModelInfer with typed contents: the course's duration, the id and a request id echoed", async () => {
    const out = await client.call("ModelInfer", rideRequest(linreg.name), { metadata: { "x-request-id": "ride-7" } });
    assert.equal(out.code, "OK", out.details ?? "");
    assert.deepEqual(out.response, {
      model_name: linreg.name,
      model_version: linreg.version,
      id: "ride-1",
      outputs: [{
        name: "duration",
        datatype: "FP64",
        shape: ["1"],
        contents: { fp64_contents: [COURSE_RIDE_DURATION] },
      }],
    });
    assert.equal(out.headers!["x-request-id"], "ride-7");
  });

  await t.step("every datatype goes through typed and comes back typed, int64 exact and NaN kept", async () => {
    const out = await client.call("ModelInfer", allTypesRequest(false));
    assert.equal(out.code, "OK", out.details ?? "");
    assert.equal(out.response.raw_output_contents, undefined);
    for (const [k, [type, t]] of Object.entries(ALL_TYPES).entries()) {
      const tensor = out.response.outputs[k];
      assert.deepEqual([tensor.name, tensor.datatype, tensor.shape], [`y_${type}`, t.datatype, ["3"]]);
      const got = tensor.contents[t.field];
      const expected = type === "string" ? t.values.map((v) => Buffer.from(v as string)) : t.values;
      assert.deepEqual(got, expected, type);
    }
  });

  await t.step("every datatype sent raw comes back raw, byte for byte", async () => {
    const out = await client.call("ModelInfer", allTypesRequest(true));
    assert.equal(out.code, "OK", out.details ?? "");
    const types = Object.values(ALL_TYPES);
    assert.equal(out.response.raw_output_contents.length, types.length);
    for (const [k, t] of types.entries()) {
      assert.equal(out.response.outputs[k].contents, undefined);
      assert.deepEqual(Buffer.from(out.response.raw_output_contents[k]), t.raw(t.values), t.datatype);
    }
  });

  await t.step("the same tensors over REST give the same values (NaN as JSON's null)", async () => {
    const inputs = Object.entries(ALL_TYPES).map(([type, t]) => ({
      name: `x_${type}`,
      datatype: t.datatype,
      shape: [3],
      data: t.values.map((v) =>
        typeof v === "number" && Number.isNaN(v)
          ? null
          : t.field === "int64_contents" || t.field === "uint64_contents"
          ? BigInt(v as string)
          : v
      ),
    }));
    const body = jsonText({ inputs });
    const res = await s.app.request("/v2/models/all_types/infer", { method: "POST", body });
    assert.equal(res.status, 200);
    const rest = parseJson(await res.text()) as any;
    const grpc = (await client.call("ModelInfer", allTypesRequest(false))).response;
    for (const [k, [type, t]] of Object.entries(ALL_TYPES).entries()) {
      const fromGrpc = grpc.outputs[k].contents[t.field].map((v: unknown) =>
        type === "string"
          ? String(v)
          : typeof v === "number" && Number.isNaN(v)
          ? null
          : typeof v === "string"
          ? parseJson(v)
          : v
      );
      assert.deepEqual(rest.outputs[k].data, fromGrpc, type);
    }
  });

  await t.step("output selection answers the outputs named, in their order", async () => {
    const request = { ...allTypesRequest(false), outputs: [{ name: "y_int8" }, { name: "y_string" }] };
    const out = await client.call("ModelInfer", request);
    assert.deepEqual(out.response.outputs.map((o: { name: string }) => o.name), ["y_int8", "y_string"]);
  });

  await t.step("bad input is INVALID_ARGUMENT naming the tensor, in REST's words", async () => {
    const ride = rideRequest(linreg.name);
    const json = rideJson();
    const cases: [string, unknown, unknown][] = [
      [
        "unknown input",
        {
          ...ride,
          inputs: [...ride.inputs, { name: "x", datatype: "FP64", shape: [1], contents: { fp64_contents: [1] } }],
        },
        { inputs: [...json.inputs, { name: "x", datatype: "FP64", shape: [1], data: [1] }] },
      ],
      [
        "wrong datatype",
        { ...ride, inputs: [{ ...ride.inputs[0], datatype: "FP32" }, ...ride.inputs.slice(1)] },
        { inputs: [{ ...json.inputs[0], datatype: "FP32" }, ...json.inputs.slice(1)] },
      ],
      [
        "values short of the shape",
        { ...ride, inputs: [{ ...ride.inputs[0], shape: [2] }, ...ride.inputs.slice(1)] },
        { inputs: [{ ...json.inputs[0], shape: [2] }, ...json.inputs.slice(1)] },
      ],
      ["missing input", { ...ride, inputs: ride.inputs.slice(1) }, { inputs: json.inputs.slice(1) }],
      ["unknown output", { ...ride, outputs: [{ name: "nope" }] }, { ...json, outputs: [{ name: "nope" }] }],
    ];
    for (const [what, grpcRequest, restBody] of cases) {
      const out = await client.call("ModelInfer", grpcRequest);
      const rest = await s.rest(`/v2/models/${linreg.name}/infer`, restBody);
      assert.equal(out.code, "INVALID_ARGUMENT", what);
      assert.equal(rest.status, 400, what);
      assert.equal(out.details, rest.body.error, what);
    }
    const grpcOnly: [string, unknown, RegExp][] = [
      [
        "contents beside raw",
        { ...ride, raw_input_contents: [Buffer.alloc(8), Buffer.alloc(8), Buffer.alloc(8)] },
        /Input "PULocationID" has contents while raw_input_contents is given/,
      ],
      [
        "raw entries short",
        { model_name: linreg.name, inputs: ride.inputs.map(({ contents: _, ...t }) => t), raw_input_contents: [] },
        /Missing|non-empty|has 0 values/,
      ],
      [
        "raw bytes not whole values",
        {
          model_name: linreg.name,
          inputs: ride.inputs.map(({ contents: _, ...t }) => t),
          raw_input_contents: [Buffer.alloc(8), Buffer.alloc(7), Buffer.alloc(8)],
        },
        /Input "DOLocationID" has 7 bytes of raw contents, not a whole number of INT64 values \(8 bytes each\)/,
      ],
      [
        "values in another type's field",
        { ...ride, inputs: [{ ...ride.inputs[0], contents: { fp64_contents: [10] } }, ...ride.inputs.slice(1)] },
        /Input "PULocationID" is INT64: its values go in contents.int64_contents/,
      ],
      [
        "an INT8 beyond its range",
        {
          ...allTypesRequest(false),
          inputs: (allTypesRequest(false).inputs as any[]).map((i) =>
            i.name === "x_int8" ? { ...i, contents: { int_contents: [1, 300, 2] } } : i
          ),
        },
        /Input "x_int8" element 1 is 300, not a valid INT8 value/,
      ],
    ];
    for (const [what, request, error] of grpcOnly) {
      const out = await client.call("ModelInfer", request);
      assert.equal(out.code, "INVALID_ARGUMENT", what);
      assert.match(out.details!, error, what);
    }
  });

  await t.step("the metrics count gRPC calls beside REST with a protocol label; the access log says grpc", async () => {
    await waitUntil(() => s.log.lines().some((l) => l.protocol === "grpc"), "a gRPC access log line", 5_000);
    const text = await (await s.app.request("/metrics")).text();
    assert.match(
      text,
      new RegExp(
        `^score_http_requests_total\\{model="ride-duration-linreg",version="${linreg.version}",` +
          `route="/inference.GRPCInferenceService/ModelInfer",status="OK",protocol="grpc"\\} [1-9]\\d*$`,
        "m",
      ),
    );
    assert.match(text, /status="INVALID_ARGUMENT",protocol="grpc"\} [1-9]/);
    assert.match(text, /route="\/v2\/models\/:name\/infer",status="200",protocol="rest"\} [1-9]/);
    const line = s.log.lines().find((l) =>
      l.protocol === "grpc" && l.status === "OK" && l.route.endsWith("/ModelInfer") && l.model === linreg.name
    )!;
    assert.equal(line.method, "POST");
    assert.equal(line.route, "/inference.GRPCInferenceService/ModelInfer");
    assert.equal(typeof line.latency_ms, "number");
  });

  await t.step("INTERNAL for a model that fails to run, its details redacted to the log", async () => {
    const broken = await loadModel(join(MODELS, "ride-duration-linreg"), { manifest: { name: "broken" } });
    await broken.close();
    await using b = await serveBoth([broken]);
    const out = await b.client.call("ModelInfer", rideRequest("broken"), { metadata: { "x-request-id": "bug-1" } });
    assert.equal(out.code, "INTERNAL");
    assert.equal(out.details, "Internal error while handling request bug-1; see the server log");
  });
});

Deno.test("gRPC: the API key from the authorization metadata, as REST checks it", async () => {
  const linreg = await loadModel(join(MODELS, "ride-duration-linreg"));
  await using s = await serveBoth([linreg], {}, "s3cret");
  try {
    const cases: [string, Record<string, string>, string, string | undefined][] = [
      ["no key", {}, "UNAUTHENTICATED", "This route needs an API key: send Authorization: Bearer <key>"],
      ["wrong key", { authorization: "Bearer nope" }, "UNAUTHENTICATED", "The API key is not valid"],
      ["the key", { authorization: "Bearer s3cret" }, "OK", undefined],
    ];
    for (const [what, metadata, code, details] of cases) {
      const out = await s.client.call("ModelInfer", rideRequest(linreg.name), { metadata });
      assert.equal(out.code, code, what);
      assert.equal(out.details, details, what);
      const rest = await s.rest(`/v2/models/${linreg.name}/infer`, rideJson(), metadata);
      if (details !== undefined) assert.equal(rest.body.error, details, what);
    }
    // Health needs no key, as /v2/health/* does not.
    assert.equal((await s.client.call("ServerLive", {})).code, "OK");
    assert.equal((await s.client.call("ServerReady", {})).code, "OK");
    assert.equal((await s.client.call("ServerMetadata", {})).code, "UNAUTHENTICATED");
    assert.match(
      await (await s.app.request("/metrics", { headers: { authorization: "Bearer s3cret" } })).text(),
      /reason="unauthorized"\} [2-9]/,
    );
  } finally {
    await linreg.close();
  }
});

Deno.test("gRPC shares the batchers: queue full, cancel, deadline, one run with REST", async (t) => {
  const linreg = await loadModel(join(MODELS, "ride-duration-linreg"));
  // A run starts at two rows, or after a minute: requests wait in the queue until a test lets them go.
  await using s = await serveBoth([linreg], { batching: { maxBatchSize: 2, maxDelayMs: 60_000, maxQueue: 2 } });
  const runs: number[] = [];
  s.plane.onBatch((_, rows) => runs.push(rows));
  const queued = (n: number) => waitUntil(() => s.plane.queuedRows()[0].rows === n, `${n} row(s) queued`, 10_000);
  const metric = async (status: string) =>
    Number(
      new RegExp(`route="/inference.GRPCInferenceService/ModelInfer",status="${status}",protocol="grpc"\\} (\\d+)`)
        .exec(await (await s.app.request("/metrics")).text())?.[1] ?? 0,
    );
  try {
    await t.step("a REST and a gRPC request at the same instant run in one model run", async () => {
      runs.length = 0;
      const [rest, grpc] = await Promise.all([
        s.rest("/predict", COURSE_RIDE),
        s.client.call("ModelInfer", rideRequest(linreg.name)),
      ]);
      assert.equal(rest.body.duration, COURSE_RIDE_DURATION);
      assert.deepEqual(grpc.response.outputs[0].contents.fp64_contents, [COURSE_RIDE_DURATION]);
      assert.deepEqual(runs, [2]);
    });

    await t.step("with the queue full, UNAVAILABLE in REST's words (REST: 503)", async () => {
      const first = s.client.call("ModelInfer", rideRequest(linreg.name));
      await queued(1);
      const refused = await s.client.call("ModelInfer", rideRequest(linreg.name, 2));
      const rest = await s.rest(`/v2/models/${linreg.name}/infer`, rideJson(2));
      assert.equal(refused.code, "UNAVAILABLE");
      assert.equal(rest.status, 503);
      assert.equal(refused.details, rest.body.error);
      await s.client.call("ModelInfer", rideRequest(linreg.name));
      assert.equal((await first).code, "OK");
    });

    await t.step("a call the client cancels is counted as CANCELLED, not as an error", async () => {
      const before = await metric("CANCELLED");
      const abort = new AbortController();
      const call = s.client.call("ModelInfer", rideRequest(linreg.name), { signal: abort.signal });
      await queued(1);
      abort.abort();
      assert.equal((await call).code, "CANCELLED");
      // The rows were queued: they run with the next request's, and the call is counted when it ends.
      assert.equal((await s.client.call("ModelInfer", rideRequest(linreg.name))).code, "OK");
      await waitUntil(async () => await metric("CANCELLED") === before + 1, "the cancel counted", 10_000);
      assert.equal(await metric("INTERNAL"), 0);
    });

    await t.step("a call past its deadline gets DEADLINE_EXCEEDED, counted so", async () => {
      const call = await s.client.call("ModelInfer", rideRequest(linreg.name), { deadlineMs: 300 });
      assert.equal(call.code, "DEADLINE_EXCEEDED");
      await queued(1);
      assert.equal((await s.client.call("ModelInfer", rideRequest(linreg.name))).code, "OK");
      await waitUntil(async () => await metric("DEADLINE_EXCEEDED") === 1, "the deadline counted", 10_000);
    });
  } finally {
    await linreg.close();
  }
});

Deno.test("gRPC: a reload under load fails no call; calls after it get the new version", async () => {
  const a = await loadModel(join(MODELS, "ride-duration-linreg"), { manifest: { name: "rides", version: "a" } });
  const b = await loadModel(join(MODELS, "ride-duration-rf"), { manifest: { name: "rides", version: "b" } });
  await using s = await serveBoth([a], { batching: { maxBatchSize: 64, maxDelayMs: 2 } });
  try {
    const outcomes: { code: string; version?: string }[] = [];
    let swapped = false;
    // 16 clients calling in a loop until well after the swap.
    const load = Array.from({ length: 16 }, async () => {
      let after = 0;
      while (after < 5) {
        const out = await s.client.call("ModelInfer", rideRequest("rides"), { deadlineMs: 30_000 });
        outcomes.push({ code: out.code, version: out.response?.model_version });
        if (swapped) after++;
      }
    });
    await waitUntil(() => outcomes.length >= 50, "calls before the swap", 30_000);
    await s.plane.swap(b);
    swapped = true;
    await Promise.all(load);
    assert.deepEqual(outcomes.filter((o) => o.code !== "OK"), []);
    assert.ok(outcomes.some((o) => o.version === "a"));
    assert.equal(outcomes.at(-1)!.version, "b");
    const last = await s.client.call("ModelInfer", rideRequest("rides"));
    assert.equal(last.response.model_version, "b");
  } finally {
    await b.close();
  }
});
