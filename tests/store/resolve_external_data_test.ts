/**
 * Models whose weights are external data, from every store: a local folder,
 * a bare `.onnx` path, an MLflow folder, S3 (s3rver) prefixes and single
 * objects, HTTP file and folder URLs, and the cache (its record covers the
 * data files, a damaged one is fetched again, new weights are a new copy).
 * Each scores as the same model with its weights inside, bit for bit.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { log } from "../../src/log.ts";
import { type Model, ModelError } from "../../src/model/mod.ts";
import { loadResolved, openModel, type ResolvedModel, resolveModel } from "../../src/store/mod.ts";
import { EMBEDDED } from "../byom_cases.ts";
import { FIXTURES, rejection, tempDir } from "../helpers.ts";
import { startHttp, startS3 } from "./servers.ts";

const BYOM = join(FIXTURES, "models", "byom");
const MLP = join(BYOM, "external_data");
const CLASSIFIER = join(BYOM, "external_data_zipmap");
const RUN_ID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** A model's files, path relative to its folder -> bytes. */
async function filesOf(dir: string, names: string[]): Promise<Map<string, Uint8Array>> {
  return new Map(await Promise.all(names.map(async (n) => [n, await Deno.readFile(join(dir, n))] as const)));
}
const MLP_FILES = await filesOf(MLP, ["model.onnx", "model.onnx.data"]);
const CLASSIFIER_FILES = await filesOf(CLASSIFIER, ["model.onnx", "weights/classifier.bin"]);
const MLP_ROWS = { features: [[1, 2, 3, 4], [-0.5, 0.25, 8, -3], [2.5, -1, 0.5, 1]] };
const CLASSIFIER_ROWS = { float_input: [[1, 2, 3], [3, -1, 0.5], [-2, 4, 1]] };

/** What the twin with embedded weights answers for `rows`. */
async function embedded(name: string, rows: Record<string, number[][]>): Promise<Record<string, unknown>> {
  const { model } = await openModel(join(EMBEDDED, name), { cacheDir: "/nonexistent" });
  try {
    return (await model.predict(rows, 3)).columns;
  } finally {
    await model.close();
  }
}
const WANT = {
  mlp: await embedded("external_data", MLP_ROWS),
  classifier: await embedded("external_data_zipmap", CLASSIFIER_ROWS),
};

/** Opens `uri`, scores the rows of its kind and closes; the warnings logged meanwhile too. */
async function score(
  uri: string,
  cacheDir: string,
  env: Record<string, string> = {},
  kind: "mlp" | "classifier" = "mlp",
) {
  const lines: string[] = [];
  log.divert((line) => lines.push(line));
  let model: Model | undefined;
  let resolved: ResolvedModel;
  try {
    ({ model, resolved } = await openModel(uri, { cacheDir, env }));
    const columns = (await model.predict(kind === "mlp" ? MLP_ROWS : CLASSIFIER_ROWS, 3)).columns;
    const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.level === "warn").map((w) =>
      `${w.msg}: ${w.reason ?? ""}`
    );
    return { columns, version: model.version, resolved, warnings };
  } finally {
    await model?.close();
    log.divert(undefined);
  }
}

function mlmodel(data: string): string {
  return `flavors:\n  onnx:\n    data: ${data}\nrun_id: ${RUN_ID}\n`;
}

/** The record the cache keeps beside a copy: every file's name, length and sha256. */
async function record(resolved: ResolvedModel): Promise<{ name: string; bytes: number; sha256: string }[]> {
  const copy = join(resolved.onnxPath, "..");
  return JSON.parse(await Deno.readTextFile(`${copy}.json`)).files;
}

Deno.test("a model with external data from local folders", async (t) => {
  await using dir = await tempDir();
  const mlflow = join(dir.path, "mlruns", "artifacts", "model");
  await Deno.mkdir(mlflow, { recursive: true });
  await Deno.writeTextFile(join(mlflow, "MLmodel"), mlmodel("net.onnx"));
  await Deno.writeFile(join(mlflow, "net.onnx"), MLP_FILES.get("model.onnx")!);
  await Deno.writeFile(join(mlflow, "model.onnx.data"), MLP_FILES.get("model.onnx.data")!);
  const cases: [string, string, "mlp" | "classifier"][] = [
    ["a folder", MLP, "mlp"],
    ["a bare .onnx path, its data file beside it", join(MLP, "model.onnx"), "mlp"],
    ["a folder, its data file in a subfolder", CLASSIFIER, "classifier"],
    ["an MLflow folder", mlflow, "mlp"],
    ["a file:// URI", `file://${MLP}/model.onnx`, "mlp"],
  ];
  for (const [what, uri, kind] of cases) {
    await t.step(`${what}: the predictions of the model with its weights inside`, async () => {
      const got = await score(uri, dir.path, {}, kind);
      assert.deepEqual(got.columns, WANT[kind]);
      if (what === "an MLflow folder") assert.equal(got.version, RUN_ID);
    });
  }
  await t.step("new weights in the data file are a new model to reload (another tag)", async () => {
    const before = await score(mlflow, dir.path);
    const data = MLP_FILES.get("model.onnx.data")!.slice();
    data[data.length - 1] ^= 0x01;
    await Deno.writeFile(join(mlflow, "model.onnx.data"), data);
    const after = await score(mlflow, dir.path);
    assert.notEqual(after.resolved.tag, before.resolved.tag);
    assert.notDeepEqual(after.columns, before.columns);
  });
});

Deno.test("a model with external data from S3 (s3rver)", async (t) => {
  await using s3 = await startS3("models");
  await using cache = await tempDir();
  for (const [name, body] of MLP_FILES) await s3.put(`mlp/${name}`, body);
  for (const [name, body] of MLP_FILES) await s3.put(`runs/1/artifacts/model/${name}`, body);
  await s3.put("runs/1/artifacts/model/MLmodel", mlmodel("model.onnx"));
  for (const [name, body] of CLASSIFIER_FILES) await s3.put(`classifier/${name}`, body);
  const cases: [string, string, "mlp" | "classifier"][] = [
    ["a prefix", "s3://models/mlp", "mlp"],
    ["one .onnx object: its data file fetched by the name its graph gives", "s3://models/mlp/model.onnx", "mlp"],
    ["an MLflow run's folder", "s3://models/runs/1/artifacts/model", "mlp"],
    ["a prefix whose data file is deeper: fetched by name", "s3://models/classifier", "classifier"],
  ];
  for (const [what, uri, kind] of cases) {
    await t.step(`${what}: the predictions of the model with its weights inside`, async () => {
      const got = await score(uri, cache.path, s3.env, kind);
      assert.deepEqual(got.columns, WANT[kind]);
      const data = kind === "mlp" ? "model.onnx.data" : "weights/classifier.bin";
      const body = (kind === "mlp" ? MLP_FILES : CLASSIFIER_FILES).get(data)!;
      assert.deepEqual((await record(got.resolved)).find((f) => f.name === data), {
        name: data,
        bytes: body.length,
        sha256: sha256(body),
      });
    });
  }
  await t.step("a flipped byte in the cached data file is found, the copy removed and fetched again", async () => {
    const uri = "s3://models/mlp/model.onnx";
    const good = await score(uri, cache.path, s3.env);
    const path = join(good.resolved.onnxPath, "..", "model.onnx.data");
    const bytes = await Deno.readFile(path);
    bytes[3] ^= 0x01;
    await Deno.writeFile(path, bytes);
    const again = await score(uri, cache.path, s3.env);
    assert.ok(
      again.warnings.some((w) => w.startsWith("cached model copy damaged: removed: model.onnx.data has sha256")),
      again.warnings.join(),
    );
    assert.deepEqual(again.columns, WANT.mlp);
    assert.equal(again.version, good.version);
    assert.deepEqual(await Deno.readFile(path), MLP_FILES.get("model.onnx.data"));
  });
  await t.step("new weights beside the same graph: a new copy, a new version, new predictions", async () => {
    const uri = "s3://models/mlp/model.onnx";
    const before = await score(uri, cache.path, s3.env);
    const data = MLP_FILES.get("model.onnx.data")!.slice();
    data[data.length - 1] ^= 0x01;
    await s3.put("mlp/model.onnx.data", data);
    try {
      const after = await score(uri, cache.path, s3.env);
      assert.notEqual(after.resolved.tag, before.resolved.tag);
      assert.notEqual(after.version, before.version);
      assert.notDeepEqual(after.columns, before.columns);
    } finally {
      await s3.put("mlp/model.onnx.data", MLP_FILES.get("model.onnx.data")!);
    }
  });
  await t.step("a data file missing from the store: not found, naming it", async () => {
    await s3.put("lonely/model.onnx", MLP_FILES.get("model.onnx")!);
    const err = await rejection(() =>
      openModel("s3://models/lonely/model.onnx", { cacheDir: cache.path, env: s3.env })
    );
    assert.ok(err instanceof ModelError);
    assert.equal(err.code, "model_not_found");
    assert.match(err.message, /^Model not found: s3:\/\/models\/lonely\/model\.onnx\.data does not exist \(404/);
  });
  await t.step("a graph naming a file outside its folder: refused, naming it", async () => {
    await s3.put(
      "escapes/model.onnx",
      await Deno.readFile(join(FIXTURES, "models", "external_data", "escapes_parent", "model.onnx")),
    );
    await s3.put("model.onnx.data", MLP_FILES.get("model.onnx.data")!);
    const err = await rejection(() =>
      openModel("s3://models/escapes/model.onnx", { cacheDir: cache.path, env: s3.env })
    );
    assert.equal(err.code, "bad_model");
    assert.match(
      err.message,
      /keeps its data in "\.\.\/model\.onnx\.data", which is not a file inside the model's folder/,
    );
  });
});

Deno.test("a model with external data over HTTP", async (t) => {
  await using http = startHttp();
  await using cache = await tempDir();
  for (const [name, body] of MLP_FILES) http.files.set(`/mlp/${name}`, body);
  for (const [name, body] of CLASSIFIER_FILES) http.files.set(`/classifier/${name}`, body);
  http.files.set("/classifier/MLmodel", new TextEncoder().encode(mlmodel("model.onnx")));
  const onnxSha = sha256(MLP_FILES.get("model.onnx")!);
  await t.step("a URL to model.onnx: the data file its graph names is fetched from beside it", async () => {
    const got = await score(`${http.url}/mlp/model.onnx`, cache.path);
    assert.deepEqual(got.columns, WANT.mlp);
    assert.equal(http.hits.get("GET /mlp/model.onnx.data"), 1);
  });
  await t.step("again: the same ETags, nothing downloaded", async () => {
    const got = await score(`${http.url}/mlp/model.onnx`, cache.path);
    assert.deepEqual(got.columns, WANT.mlp);
    assert.deepEqual([http.hits.get("GET /mlp/model.onnx"), http.hits.get("GET /mlp/model.onnx.data")], [1, 1]);
  });
  await t.step("#sha256= pins the .onnx: it loads with its data file", async () => {
    const got = await score(`${http.url}/mlp/model.onnx#sha256=${onnxSha}`, cache.path);
    assert.deepEqual(got.columns, WANT.mlp);
  });
  await t.step("an MLflow folder URL, its data file in a subfolder", async () => {
    const got = await score(`${http.url}/classifier/`, cache.path, {}, "classifier");
    assert.deepEqual(got.columns, WANT.classifier);
    assert.equal(got.version, RUN_ID);
    assert.equal(http.hits.get("GET /classifier/weights/classifier.bin"), 1);
  });
  await t.step("new weights on the server beside the same graph: fetched, a new version", async () => {
    const before = await score(`${http.url}/mlp/model.onnx`, cache.path);
    const data = MLP_FILES.get("model.onnx.data")!.slice();
    data[data.length - 1] ^= 0x01;
    http.files.set("/mlp/model.onnx.data", data);
    const after = await score(`${http.url}/mlp/model.onnx`, cache.path);
    assert.notEqual(after.version, before.version);
    assert.notDeepEqual(after.columns, before.columns);
    http.files.set("/mlp/model.onnx.data", MLP_FILES.get("model.onnx.data")!);
  });
  await t.step("a missing data file: not found, naming its URL", async () => {
    http.files.set("/lonely/model.onnx", MLP_FILES.get("model.onnx")!);
    const err = await rejection(() => openModel(`${http.url}/lonely/model.onnx`, { cacheDir: cache.path }));
    assert.equal(err.code, "model_not_found");
    assert.ok(err.message.includes(`${http.url}/lonely/model.onnx.data does not exist`), err.message);
  });
});

Deno.test("a local model's data file is read once: the load scores the bytes resolving read for the tag", async () => {
  await using dir = await tempDir();
  for (const [name, bytes] of MLP_FILES) await Deno.writeFile(join(dir.path, name), bytes);
  const resolved = await resolveModel(dir.path, { cacheDir: join(dir.path, "cache") });
  assert.deepEqual(resolved.files?.get(join(dir.path, "model.onnx.data")), MLP_FILES.get("model.onnx.data"));
  // Weights changed in between are not what the tag says: the load does not read them again.
  await Deno.writeFile(join(dir.path, "model.onnx.data"), new Uint8Array(MLP_FILES.get("model.onnx.data")!.length));
  const model = await loadResolved(resolved);
  try {
    assert.deepEqual((await model.predict(MLP_ROWS, 3)).columns, WANT.mlp);
  } finally {
    await model.close();
  }
});
