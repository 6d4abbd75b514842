/**
 * Resolving and loading models from where they live, against a real
 * S3-protocol server (s3rver) and a real HTTP server on 127.0.0.1: the
 * MLflow layout, single objects, pins, the cache, and each failure's error.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { loadResolved, openModel, resolveModel } from "../../src/store/mod.ts";
import { tagOf } from "../../src/store/resolve_model.ts";
import { FIXTURES, MODELS, rejection, tempDir } from "../helpers.ts";
import { startHttp, startS3 } from "./servers.ts";

const RF_ONNX = await Deno.readFile(join(MODELS, "ride-duration-rf", "model.onnx"));
const RF_SHA = createHash("sha256").update(RF_ONNX).digest("hex");
const RUN_ID = "e1efc53e9bd149078b0c12aeaa6365df";
const RIDE_256 = { PULocationID: [130], DOLocationID: [205], trip_distance: [3.66] };

/** The MLmodel that mlflow.onnx.log_model writes, with a column signature. */
function mlmodel(runId: string, data = "model.onnx"): string {
  return `artifact_path: model
flavors:
  onnx:
    code: null
    data: ${data}
    onnx_version: 1.16.0
    providers:
    - CPUExecutionProvider
  python_function:
    data: ${data}
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.onnx
    python_version: 3.11.4
mlflow_version: 2.14.1
model_uuid: 0f3c6f4b1f6e4a0c9d3b2a1e5c7d9b8a
run_id: ${runId}
signature:
  inputs: '[{"type": "string", "name": "PULocationID", "required": true}, {"type": "string", "name": "DOLocationID", "required": true}, {"type": "double", "name": "trip_distance", "required": true}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}]'
  params: null
utc_time_created: '2024-05-20 10:11:12.131415'
`;
}

async function predict256(value: string, cacheDir: string, env: Record<string, string> = {}) {
  const { model, resolved } = await openModel(value, { cacheDir, env });
  try {
    const p = await model.predict(RIDE_256, 1);
    return { model, resolved, duration: p.columns[model.outputs[0].columns[0]][0] as number };
  } finally {
    await model.close();
  }
}

Deno.test("an MLflow run's model in S3", async (t) => {
  await using s3 = await startS3();
  await using cache = await tempDir();
  const prefix = `1/${RUN_ID}/artifacts/model`;
  await s3.put(`${prefix}/MLmodel`, mlmodel(RUN_ID));
  await s3.put(`${prefix}/model.onnx`, RF_ONNX);
  await s3.put(`${prefix}/conda.yaml`, "name: mlflow-env\n");
  await s3.put(`${prefix}/nested/ignored.txt`, "not part of the model folder");
  const uri = `s3://${s3.bucket}/${prefix}`;

  await t.step("ride 256 -> 21.29, version = the run id, name from #name", async () => {
    const { model, duration, resolved } = await predict256(`${uri}#name=ride-duration`, cache.path, s3.env);
    assert.ok(Math.abs(duration - 21.29) < 0.005, `got ${duration}`);
    assert.equal(model.version, RUN_ID);
    assert.equal(model.name, "ride-duration");
    assert.equal(resolved.stale, undefined);
    assert.deepEqual(resolved.signature.map((s) => s.name), ["PULocationID", "DOLocationID", "trip_distance"]);
  });
  await t.step("the signature makes its required columns required", async () => {
    const { model } = await openModel(uri, { cacheDir: cache.path, env: s3.env });
    try {
      assert.equal(model.name, "model");
      assert.deepEqual(model.inputs.map((i) => [i.name, i.required]), [
        ["PULocationID", true],
        ["DOLocationID", true],
        ["trip_distance", true],
      ]);
    } finally {
      await model.close();
    }
  });
  await t.step("a model.json beside it wins, but the version stays the run id", async () => {
    await s3.put(`${prefix}/model.json`, JSON.stringify({ name: "rf", version: "v9", inputs: { trip_distance: {} } }));
    const { model } = await openModel(uri, { cacheDir: cache.path, env: s3.env });
    try {
      assert.equal(model.name, "rf");
      assert.equal(model.version, RUN_ID);
      assert.deepEqual(model.inputs.map((i) => i.required), [false, false, false]);
    } finally {
      await model.close();
    }
    await s3.remove(`${prefix}/model.json`);
  });
  await t.step("an unchanged model is found in the cache by its ETags", async () => {
    const a = await resolveModel(uri, { cacheDir: cache.path, env: s3.env });
    const b = await resolveModel(uri, { cacheDir: cache.path, env: s3.env });
    assert.equal(a.tag, b.tag);
    assert.equal(a.onnxPath, b.onnxPath);
    assert.ok(a.onnxPath.startsWith(cache.path));
    const stat = await Deno.stat(a.onnxPath);
    await resolveModel(uri, { cacheDir: cache.path, env: s3.env });
    assert.deepEqual((await Deno.stat(a.onnxPath)).mtime, stat.mtime, "not downloaded again");
  });
  await t.step("a new run's model under the same prefix is a new content", async () => {
    const before = await resolveModel(uri, { cacheDir: cache.path, env: s3.env });
    await s3.put(`${prefix}/MLmodel`, mlmodel("0123456789abcdef0123456789abcdef"));
    const after = await resolveModel(uri, { cacheDir: cache.path, env: s3.env });
    assert.notEqual(after.tag, before.tag);
    assert.equal(after.manifest.version, "0123456789abcdef0123456789abcdef");
    await s3.put(`${prefix}/MLmodel`, mlmodel(RUN_ID));
    assert.equal((await resolveModel(uri, { cacheDir: cache.path, env: s3.env })).tag, before.tag);
  });
  await t.step("the store down: the last good copy serves, marked stale", async () => {
    await s3.close();
    const { model, duration, resolved } = await predict256(uri, cache.path, s3.env);
    assert.ok(Math.abs(duration - 21.29) < 0.005);
    assert.equal(model.version, RUN_ID);
    assert.ok(resolved.stale);
    assert.match(resolved.stale.reason, /Cannot reach the model store/);
  });
  await t.step("the store down and nothing cached: unavailable (69)", async () => {
    await using empty = await tempDir();
    const err = await rejection(() => resolveModel(uri, { cacheDir: empty.path, env: s3.env }));
    assert.equal(err.exitCode, 69);
    assert.match(err.message, /Cannot reach the model store for s3:\/\/mlflow\/1\/.*no copy of it is cached/);
  });
});

Deno.test("S3 failures", async (t) => {
  await using s3 = await startS3("models");
  await using cache = await tempDir();
  await s3.put("rf/model.onnx", RF_ONNX);
  await s3.put("only-sklearn/MLmodel", await Deno.readTextFile(join(FIXTURES, "mlflow", "rf_pipeline", "MLmodel")));
  await s3.put("only-sklearn/model.pkl", "pickle");
  const cases: { name: string; uri: string; env?: Record<string, string>; exitCode: number; message: RegExp }[] = [
    {
      name: "a missing object: not found (66)",
      uri: "s3://models/rf/nope.onnx",
      exitCode: 66,
      message: /Model not found: s3:\/\/models\/rf\/nope.onnx does not exist \(404 NoSuchKey/,
    },
    {
      name: "an empty prefix: not found (66)",
      uri: "s3://models/nothing/here",
      exitCode: 66,
      message: /no objects under s3:\/\/models\/nothing\/here/,
    },
    {
      name: "a missing bucket: not found (66)",
      uri: "s3://no-such-bucket/rf/model.onnx",
      exitCode: 66,
      message: /NoSuchBucket/,
    },
    {
      name: "bad credentials: refused (77), no secret in the message",
      uri: "s3://models/rf/model.onnx",
      env: { AWS_ACCESS_KEY_ID: "WRONGKEY", AWS_SECRET_ACCESS_KEY: "s3cr3t-Value-42" },
      exitCode: 77,
      message: /refused access to s3:\/\/models\/rf\/model.onnx \(403 InvalidAccessKeyId/,
    },
    {
      name: "an MLmodel without the onnx flavour: refused (78) with how to convert it",
      uri: "s3://models/only-sklearn",
      exitCode: 78,
      message: /has no onnx flavour \(it has: python_function, sklearn\).*mlflow\.onnx\.log_model.*docs\/models\.md/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const err = await rejection(() => openModel(c.uri, { cacheDir: cache.path, env: { ...s3.env, ...c.env } }));
      assert.equal(err.exitCode, c.exitCode, err.message);
      assert.match(err.message, c.message);
      assert.ok(!err.message.includes("s3cr3t"), err.message);
    });
  }
  await t.step("a single object named model.onnx, named after its folder", async () => {
    const { model, duration } = await predict256("s3://models/rf/model.onnx", cache.path, s3.env);
    assert.ok(Math.abs(duration - 21.29) < 0.005);
    assert.equal(model.name, "rf");
    assert.equal(model.version, RF_SHA.slice(0, 12));
  });
});

Deno.test("models over HTTP", async (t) => {
  await using http = startHttp();
  await using cache = await tempDir();
  http.files.set("/rf/model.onnx", RF_ONNX);
  http.files.set("/rf/model.json", await Deno.readFile(join(MODELS, "ride-duration-rf", "model.json")));
  http.files.set("/bare/ride.onnx", RF_ONNX);

  await t.step("pinned: the model.json beside it is used", async () => {
    const { model, duration } = await predict256(`${http.url}/rf/model.onnx#sha256=${RF_SHA}`, cache.path);
    assert.ok(Math.abs(duration - 21.29) < 0.005);
    assert.equal(model.name, "ride-duration-rf");
    assert.equal(model.version, RUN_ID);
  });
  await t.step("a wrong pin is refused (78), naming both digests, and nothing is cached", async () => {
    const wrong = "0".repeat(64);
    await using fresh = await tempDir();
    const err = await rejection(() =>
      resolveModel(`${http.url}/rf/model.onnx#sha256=${wrong}`, { cacheDir: fresh.path })
    );
    assert.equal(err.exitCode, 78);
    assert.ok(err.message.includes(RF_SHA) && err.message.includes(wrong), err.message);
    const left: string[] = [];
    for await (const e of Deno.readDir(fresh.path)) {
      for await (const f of Deno.readDir(join(fresh.path, e.name))) left.push(f.name);
    }
    assert.deepEqual(left, []);
  });
  await t.step("a wrong pin on a cached copy is refused too", async () => {
    const err = await rejection(() =>
      resolveModel(`${http.url}/rf/model.onnx#sha256=${"1".repeat(64)}`, { cacheDir: cache.path })
    );
    assert.equal(err.exitCode, 78);
  });
  await t.step("a cache folder that cannot be written: a usage error naming it", async () => {
    const err = await rejection(() => resolveModel(`${http.url}/bare/ride.onnx`, { cacheDir: "/proc/score-cache" }));
    assert.equal(err.exitCode, 64);
    assert.match(err.message, /Cannot write the model cache \/proc\/score-cache \(--cache-dir, SCORE_CACHE_DIR\)/);
  });
  await t.step("a bare .onnx is named after its file, a bare model.onnx after its folder", async () => {
    http.files.set("/models/titanic.onnx", RF_ONNX);
    http.files.set("/models/titanic/model.onnx", RF_ONNX);
    for (
      const [path, name] of [["/bare/ride.onnx", "ride"], ["/models/titanic.onnx", "titanic"], [
        "/models/titanic/model.onnx",
        "titanic",
      ]]
    ) {
      const { model } = await predict256(`${http.url}${path}`, cache.path);
      assert.equal(model.name, name, path);
    }
  });
  await t.step("a missing file: not found (66)", async () => {
    const err = await rejection(() => resolveModel(`${http.url}/rf/gone.onnx`, { cacheDir: cache.path }));
    assert.equal(err.exitCode, 66);
  });
  await t.step("an MLflow directory URL", async () => {
    http.files.set("/run/MLmodel", new TextEncoder().encode(mlmodel(RUN_ID, "rf.onnx")));
    http.files.set("/run/rf.onnx", RF_ONNX);
    const { model, duration } = await predict256(`${http.url}/run/#name=rf`, cache.path);
    assert.ok(Math.abs(duration - 21.29) < 0.005);
    assert.equal(model.version, RUN_ID);
    assert.equal(model.name, "rf");
  });
});

Deno.test("HTTP credentials and servers without ETags", async (t) => {
  await using http = startHttp({ etag: false, auth: "reader:pa55word" });
  await using cache = await tempDir();
  http.files.set("/m/model.onnx", RF_ONNX);
  await t.step("basic auth from the URL", async () => {
    const url = http.url.replace("http://", "http://reader:pa55word@") + "/m/model.onnx";
    const a = await resolveModel(url, { cacheDir: cache.path });
    const b = await resolveModel(url, { cacheDir: cache.path });
    assert.equal(a.tag, b.tag, "without ETags the content's digest is the key");
    assert.ok(!a.uri.includes("pa55word"));
  });
  await t.step("wrong credentials: refused (77), the password not in the message", async () => {
    const url = http.url.replace("http://", "http://reader:bad-pa55@") + "/m/model.onnx";
    const err = await rejection(() => resolveModel(url, { cacheDir: cache.path }));
    assert.equal(err.exitCode, 77);
    assert.ok(!err.message.includes("bad-pa55"), err.message);
  });
});

Deno.test("local MLflow model directories", async (t) => {
  await using dir = await tempDir();
  await Deno.writeTextFile(join(dir.path, "MLmodel"), mlmodel(RUN_ID));
  await Deno.copyFile(join(MODELS, "ride-duration-rf", "model.onnx"), join(dir.path, "model.onnx"));
  await t.step("a path and a file:// URI give the run id as version", async () => {
    for (const value of [dir.path, `file://${dir.path}#name=rf`]) {
      const { model, duration } = await predict256(value, dir.path);
      assert.ok(Math.abs(duration - 21.29) < 0.005);
      assert.equal(model.version, RUN_ID);
    }
  });
  await t.step("the course's sklearn-only rf_pipeline is refused (78)", async () => {
    const err = await rejection(() => resolveModel(join(FIXTURES, "mlflow", "rf_pipeline"), { cacheDir: dir.path }));
    assert.equal(err.exitCode, 78);
    assert.match(err.message, /no onnx flavour.*docs\/models\.md/);
  });
  await t.step("a signature names the columns of a single [N,K] input", async () => {
    await using nk = await tempDir();
    await Deno.copyFile(join(FIXTURES, "models", "byom", "dynamic_k", "model.onnx"), join(nk.path, "model.onnx"));
    const columns = ["a", "b", "c"].map((name) => `{"type": "float", "name": "${name}", "required": true}`);
    await Deno.writeTextFile(
      join(nk.path, "MLmodel"),
      `flavors:\n  onnx:\n    data: model.onnx\nrun_id: r1\nsignature:\n  inputs: '[${columns.join(", ")}]'\n`,
    );
    const { model } = await openModel(nk.path, { cacheDir: nk.path });
    try {
      assert.deepEqual(model.inputs.map((i) => [i.name, i.columns, i.required]), [["x", ["a", "b", "c"], true]]);
      const p = await model.predict({ a: [1], b: [2], c: [4] }, 1);
      assert.equal(p.columns[model.outputs[0].columns[0]][0], 7);
    } finally {
      await model.close();
    }
  });
  await t.step("the tag follows the content", async () => {
    const a = await resolveModel(dir.path, { cacheDir: dir.path });
    await Deno.writeTextFile(join(dir.path, "MLmodel"), mlmodel("f".repeat(32)));
    const b = await resolveModel(dir.path, { cacheDir: dir.path });
    assert.notEqual(a.tag, b.tag);
  });
});

Deno.test("a model folder without model.onnx: its only .onnx file, or a refusal naming them", async (t) => {
  await using dir = await tempDir();
  const folder = (name: string) => join(dir.path, name);
  await Deno.mkdir(folder("titanic"));
  await Deno.writeFile(join(folder("titanic"), "titanic.onnx"), RF_ONNX);
  await Deno.mkdir(folder("two"));
  await Deno.writeFile(join(folder("two"), "a.onnx"), RF_ONNX);
  await Deno.writeFile(join(folder("two"), "b.onnx"), RF_ONNX);
  await Deno.mkdir(folder("empty"));
  await Deno.writeTextFile(join(folder("empty"), "notes.txt"), "no model here");

  await t.step("one .onnx file: used, the model named after its folder", async () => {
    const { model, resolved, duration } = await predict256(folder("titanic"), dir.path);
    assert.equal(resolved.onnxPath, join(folder("titanic"), "titanic.onnx"));
    assert.equal(model.name, "titanic");
    assert.ok(Math.abs(duration - 21.29) < 0.005);
  });
  const refused: [string, string, RegExp][] = [
    [
      "several: refused, naming them and the expected name",
      "two",
      /has no model\.onnx and several other \.onnx files \(a\.onnx, b\.onnx\): name the one to use \(--model <folder>\/<file>\.onnx\), or rename it model\.onnx$/,
    ],
    ["none: not found", "empty", /has no model\.onnx \(nor any other \.onnx file, nor an MLmodel\)$/],
  ];
  for (const [name, sub, message] of refused) {
    await t.step(name, async () => {
      const err = await rejection(() => resolveModel(folder(sub), { cacheDir: dir.path }));
      assert.equal(err.exitCode, 66);
      assert.match(err.message, message);
    });
  }
});

Deno.test("tagOf: the same tag whatever the machine's language", async (t) => {
  // Under LANG=cs_CZ, ICU sorts "ch" after "h"; the names' code units sort it before.
  const entries: [string, string][] = [["i.bin", "3"], ["h.bin", "2"], ["ch.bin", "1"], ["MLmodel", "0"]];
  const inOrder = createHash("sha256");
  for (const [name, id] of [["MLmodel", "0"], ["ch.bin", "1"], ["h.bin", "2"], ["i.bin", "3"]]) {
    inOrder.update(`${name}\0${id}\n`);
  }
  const expected = inOrder.digest("hex").slice(0, 32);
  await t.step("the names in code-unit order", () => assert.equal(tagOf(entries), expected));
  for (const lang of ["C.UTF-8", "en_US.UTF-8", "cs_CZ.UTF-8"]) {
    await t.step(`LANG=${lang}`, async () => {
      const script =
        `import { tagOf } from ${JSON.stringify(new URL("../../src/store/resolve_model.ts", import.meta.url).href)};` +
        `console.log(tagOf(${JSON.stringify(entries)}));`;
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["eval", script],
        env: { LANG: lang, LC_ALL: lang },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      assert.equal(new TextDecoder().decode(out.stdout).trim(), expected);
    });
  }
});

Deno.test("a local model's file is read once: resolving hands its bytes to the load, which keeps no copy", async () => {
  await using dir = await tempDir();
  await Deno.copyFile(join(MODELS, "ride-duration-linreg", "model.onnx"), join(dir.path, "model.onnx"));
  const resolved = await resolveModel(dir.path, { cacheDir: join(dir.path, "cache") });
  const onDisk = await Deno.readFile(join(dir.path, "model.onnx"));
  assert.deepEqual(resolved.files?.get(join(dir.path, "model.onnx")), onDisk);
  // What is loaded is what was read for the tag, even if the file changes in between.
  await Deno.writeFile(join(dir.path, "model.onnx"), new TextEncoder().encode("not a model any more"));
  const model = await loadResolved(resolved);
  try {
    assert.equal(resolved.files, undefined);
    assert.equal(model.version, createHash("sha256").update(onDisk).digest("hex").slice(0, 12));
  } finally {
    await model.close();
  }
});

Deno.test("a local model pinned by file://...#sha256=", async (t) => {
  await using dir = await tempDir();
  const rf = join(dir.path, "rf");
  await Deno.mkdir(rf);
  await Deno.copyFile(join(MODELS, "ride-duration-rf", "model.onnx"), join(rf, "model.onnx"));
  await t.step("the right pin: resolved and loaded, its version the file's digest", async () => {
    const { model } = await openModel(`file://${rf}#sha256=${RF_SHA}`, { cacheDir: join(dir.path, "cache") });
    try {
      assert.equal(model.version, RF_SHA.slice(0, 12));
    } finally {
      await model.close();
    }
  });
  await t.step("a wrong pin is refused (78), naming both digests", async () => {
    const wrong = "0".repeat(64);
    const err = await rejection(() =>
      resolveModel(`file://${rf}#sha256=${wrong}`, { cacheDir: join(dir.path, "cache") })
    );
    assert.equal(err.exitCode, 78);
    assert.match(err.message, new RegExp(`its sha256 is ${RF_SHA}, the pin \\(#sha256=\\) is ${wrong}`));
  });
});
