/**
 * An independent client against the real `score serve --grpc-port`:
 * Debian's python3-grpcio with stubs that python3-grpc-tools generates from
 * the shipped proto (tests/grpc/python_peer.py). For every shipped model and
 * every model people bring (tests/byom_cases.ts), the gRPC answer (typed
 * and raw contents) equals REST's /v2 answer and `score batch`'s output for
 * the same rows, bit for bit; then the six methods, the API key and
 * NOT_FOUND as the Python client sees them.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { CONTENTS_FIELD } from "../../src/grpc/infer_codec.ts";
import { loadModel, type Model, type TensorType } from "../../src/model/mod.ts";
import { DATATYPES } from "../../src/serving/oip.ts";
import { jsonText, parseJson } from "../../src/value_codec.ts";
import { ALL_CASES, type ByomCase, packedRow } from "../byom_cases.ts";
import { MODELS, runScore, tempDir } from "../helpers.ts";
import { COURSE_RIDE, CUSTOMER } from "../http/requests.ts";
import { startServer } from "../commands/serve_process.ts";

const PEER = join(import.meta.dirname!, "python_peer.py");
const KEY = "s3cret";

/** The shipped models with rows, then every model people bring. */
const CASES: ByomCase[] = [
  ...["ride-duration-linreg", "ride-duration-rf"].map((name) => ({
    name,
    path: join(MODELS, name),
    rows: [COURSE_RIDE, { PULocationID: 130, DOLocationID: 205, trip_distance: 3.66 }],
  })),
  { name: "churn", path: join(MODELS, "churn"), rows: [CUSTOMER, { ...CUSTOMER, tenure: 40 }] },
  ...ALL_CASES,
];

/** Each call's outcome, as the peer prints it. */
interface PeerOutcome {
  code: string;
  details?: string;
  headers?: Record<string, string>;
  response?: any;
}

async function peer(target: string, calls: unknown[]): Promise<PeerOutcome[]> {
  const child = new Deno.Command("/usr/bin/python3", { args: [PEER], stdin: "piped", stdout: "piped", stderr: "piped" })
    .spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify({ target, calls })));
  await writer.close();
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return text.trimEnd().split("\n").map((l) => JSON.parse(l));
}

/** The model's input tensors for these rows: name, datatype, shape and the values, row-major. */
function tensors(model: Model, rows: Record<string, unknown>[]) {
  // The rows' own column names for each input (they may differ from the model's in case).
  const sources = model.resolveInputs(Object.keys(rows[0]));
  return model.inputs.map((input) => ({
    name: input.name,
    type: input.type,
    shape: input.shape.length === 2 ? [rows.length, input.columns.length] : [rows.length],
    values: rows.flatMap((row) => sources.get(input.name)!.columns!.map((c) => row[c])),
  }));
}

/** A value in protobuf's JSON mapping (int64 as text, bytes as base64, NaN as "NaN"). */
function protoJson(v: unknown, type: TensorType): unknown {
  if (type === "string") return Buffer.from(String(v)).toString("base64");
  if (type === "int64" || type === "uint64") return String(v);
  if (type === "bool") return Boolean(v);
  // A missing float is NaN, which protobuf carries (JSON's null).
  if (v === null || v === undefined || (typeof v === "number" && Number.isNaN(v))) return "NaN";
  return v;
}

/** Values as raw little-endian bytes, in base64 for the JSON mapping. */
function rawBase64(values: unknown[], type: TensorType): string {
  if (type === "string") {
    return Buffer.concat(values.map((v) => {
      const b = Buffer.from(String(v));
      const size = Buffer.alloc(4);
      size.writeUInt32LE(b.length);
      return Buffer.concat([size, b]);
    })).toString("base64");
  }
  const arrays: Record<string, (v: unknown[]) => ArrayBufferView> = {
    float32: (v) => Float32Array.from(v as number[]),
    float64: (v) => Float64Array.from(v as number[]),
    int64: (v) => BigInt64Array.from(v.map((x) => BigInt(x as number))),
    int32: (v) => Int32Array.from(v as number[]),
    bool: (v) => Uint8Array.from(v.map((x) => x ? 1 : 0)),
  };
  const a = arrays[type](values);
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
}

/** An output value made comparable across JSON, protobuf JSON and raw bytes: floats as doubles (FP32 rounded to float32), NaN as null, int64 as a bigint. */
function canonical(v: unknown, type: TensorType): unknown {
  if (v === null || v === "NaN") return null;
  if (type === "string") return String(v);
  if (type === "bool") return Boolean(v);
  if (type === "int64" || type === "uint64") return BigInt(v as string | number | bigint);
  if (v === "Infinity" || v === "-Infinity") return Number(v);
  const n = Number(v);
  if (Number.isNaN(n)) return null;
  return type === "float32" ? Math.fround(n) : n;
}

/** Raw output bytes (base64) to values. */
function fromRaw(base64: string, type: TensorType): unknown[] {
  const b = Buffer.from(base64, "base64");
  const copy = new Uint8Array(b).buffer;
  if (type === "string") {
    const out: string[] = [];
    for (let at = 0; at < b.length;) {
      const n = b.readUInt32LE(at);
      out.push(b.subarray(at + 4, at + 4 + n).toString("utf8"));
      at += 4 + n;
    }
    return out;
  }
  const views: Record<string, (buf: ArrayBuffer) => ArrayLike<unknown>> = {
    float32: (buf) => new Float32Array(buf),
    float64: (buf) => new Float64Array(buf),
    int64: (buf) => new BigInt64Array(buf),
    int32: (buf) => new Int32Array(buf),
    bool: (buf) => new Uint8Array(buf),
  };
  return Array.from(views[type](copy));
}

Deno.test("gRPC from Python: every model answers as REST and score batch do, bit for bit", async (t) => {
  await using dir = await tempDir();
  const models = new Map<string, Model>();
  for (const c of CASES) models.set(c.name, await loadModel(c.path, {}));
  try {
    assert.equal(new Set([...models.values()].map((m) => m.name)).size, CASES.length, "every model has its own name");
    await using server = await startServer([
      ...CASES.flatMap((c) => ["--model", c.path]),
      "--grpc-port",
      "0",
      "--api-key",
      KEY,
      "--no-access-log",
      "--drain-delay",
      "0",
    ]);
    const target = `127.0.0.1:${server.grpcPort}`;
    const auth = { authorization: `Bearer ${KEY}` };

    await t.step("the six methods, the API key and NOT_FOUND, as grpcio sees them", async () => {
      const [live, ready, meta, modelReady, modelMeta, noKey, unknown] = await peer(target, [
        { method: "ServerLive" },
        { method: "ServerReady" },
        { method: "ServerMetadata", metadata: auth },
        { method: "ModelReady", request: { name: "churn" }, metadata: auth },
        { method: "ModelMetadata", request: { name: "ride-duration-linreg" }, metadata: auth },
        { method: "ModelMetadata", request: { name: "ride-duration-linreg" } },
        { method: "ModelInfer", request: { model_name: "nope" }, metadata: { ...auth, "x-request-id": "py-1" } },
      ]);
      assert.deepEqual(live.response, { live: true });
      assert.deepEqual(ready.response, { ready: true });
      assert.equal(meta.response.name, "score");
      assert.deepEqual(modelReady.response, { ready: true });
      assert.deepEqual(modelMeta.response.inputs[2], { name: "trip_distance", datatype: "FP64", shape: ["-1"] });
      assert.deepEqual([noKey.code, noKey.details], [
        "UNAUTHENTICATED",
        "This route needs an API key: send Authorization: Bearer <key>",
      ]);
      assert.equal(unknown.code, "NOT_FOUND");
      assert.match(unknown.details!, /^Unknown model "nope" \(models: ride-duration-linreg, /);
    });

    for (const c of CASES) {
      await t.step(c.name, async () => {
        const model = models.get(c.name)!;
        const ts = tensors(model, c.rows);
        const typed = {
          model_name: model.name,
          inputs: ts.map((x) => ({
            name: x.name,
            datatype: DATATYPES[x.type],
            shape: x.shape.map(String),
            contents: { [CONTENTS_FIELD[x.type]]: x.values.map((v) => protoJson(v, x.type)) },
          })),
        };
        const raw = {
          model_name: model.name,
          inputs: ts.map((x) => ({ name: x.name, datatype: DATATYPES[x.type], shape: x.shape.map(String) })),
          raw_input_contents: ts.map((x) => rawBase64(x.values, x.type)),
        };
        const [g, r] = await peer(target, [
          { method: "ModelInfer", request: typed, metadata: auth },
          { method: "ModelInfer", request: raw, metadata: auth },
        ]);
        assert.equal(g.code, "OK", g.details ?? "");
        assert.equal(r.code, "OK", r.details ?? "");
        const restBody = jsonText({
          inputs: ts.map((x) => ({ name: x.name, datatype: DATATYPES[x.type], shape: x.shape, data: x.values })),
        });
        const res = await fetch(`${server.url}/v2/models/${model.name}/infer`, {
          method: "POST",
          body: restBody,
          headers: { ...auth, "content-type": "application/json" },
        });
        const rest = parseJson(await res.text()) as any;
        assert.equal(res.status, 200, jsonText(rest));
        const input = join(dir.path, `${c.name}.jsonl`);
        await Deno.writeTextFile(input, c.rows.map((row) => jsonText(packedRow(model, row))).join("\n") + "\n");
        const batch = await runScore(["batch", "--model", c.path, "--input", input, "--output", "-"]);
        assert.equal(batch.code, 0, batch.stderr);
        const batchRows = batch.stdout.trimEnd().split("\n").map((l) => parseJson(l) as Record<string, unknown>);
        for (const [k, o] of model.outputs.entries()) {
          const fromBatch = batchRows.flatMap((row) => o.columns.map((col) => canonical(row[col], o.type)));
          const fromRest = rest.outputs[k].data.map((v: unknown) => canonical(v, o.type));
          const typedOut = g.response.outputs[k];
          const fromTyped = (typedOut.contents?.[CONTENTS_FIELD[o.type]] ?? []).map((v: unknown) =>
            canonical(o.type === "string" ? Buffer.from(v as string, "base64").toString("utf8") : v, o.type)
          );
          const fromRaw_ = fromRaw(r.response.raw_output_contents[k], o.type).map((v) => canonical(v, o.type));
          assert.equal(typedOut.name, o.name);
          assert.deepEqual(fromRest, fromBatch, `${o.name}: REST and batch`);
          assert.deepEqual(fromTyped, fromRest, `${o.name}: gRPC typed and REST`);
          assert.deepEqual(fromRaw_, fromRest, `${o.name}: gRPC raw and REST`);
          assert.deepEqual(r.response.outputs[k].shape, typedOut.shape);
          assert.deepEqual(typedOut.shape.map(Number), rest.outputs[k].shape);
        }
      });
    }
    assert.equal(await server.stop(), 0);
  } finally {
    for (const m of models.values()) await m.close();
  }
});
