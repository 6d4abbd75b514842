/**
 * `--model` pointing where models live, end to end through the real
 * launcher: an MLflow run's model in a real S3-protocol server (s3rver),
 * a pinned HTTP URL, a restart of `score serve` while the store is down,
 * and the exit code of each failure.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { cliArgs, logLines, MODELS, runScore, tempDir, waitUntil } from "../helpers.ts";
import { startHttp, startS3 } from "../store/servers.ts";
import { startServer } from "./serve_process.ts";

const RF_ONNX = await Deno.readFile(join(MODELS, "ride-duration-rf", "model.onnx"));
const RF_SHA = createHash("sha256").update(RF_ONNX).digest("hex");
const RUN_ID = "e1efc53e9bd149078b0c12aeaa6365df";
const MLMODEL = `artifact_path: model
flavors:
  onnx:
    data: model.onnx
    onnx_version: 1.16.0
  python_function:
    data: model.onnx
    loader_module: mlflow.onnx
run_id: ${RUN_ID}
`;
const RIDES = "ride_id,PULocationID,DOLocationID,trip_distance\n256,130,205,3.66\n";

Deno.test("score batch --model s3://... (an MLflow run's artifacts): ride 256 -> 21.29, model_version = the run id", async () => {
  await using s3 = await startS3();
  await using dir = await tempDir();
  await s3.put(`1/${RUN_ID}/artifacts/model/MLmodel`, MLMODEL);
  await s3.put(`1/${RUN_ID}/artifacts/model/model.onnx`, RF_ONNX);
  const input = join(dir.path, "rides.csv");
  await Deno.writeTextFile(input, RIDES);
  const run = await runScore(
    [
      "batch",
      ...cliArgs({
        "--model": `s3://mlflow/1/${RUN_ID}/artifacts/model`,
        "--input": input,
        "--output": "-",
        "--keep": "ride_id",
      }),
    ],
    { env: { ...s3.env, SCORE_CACHE_DIR: join(dir.path, "cache") } },
  );
  assert.equal(run.code, 0, run.stderr);
  const [row] = run.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(row.ride_id, "256");
  assert.ok(Math.abs(row.duration - 21.29) < 0.005, run.stdout);
  assert.equal(row.model_version, RUN_ID);
});

Deno.test("score batch: where a model cannot be had, the exit code says why", async (t) => {
  await using s3 = await startS3("models");
  await using http = startHttp();
  await using dir = await tempDir();
  await s3.put("rf/model.onnx", RF_ONNX);
  http.files.set("/rf/model.onnx", RF_ONNX);
  const input = join(dir.path, "rides.csv");
  await Deno.writeTextFile(input, RIDES);
  const wrongPin = "ab".repeat(32);
  const cases: { name: string; model: string; env: Record<string, string>; code: number; says: RegExp }[] = [
    { name: "a missing object: 66", model: "s3://models/rf/other.onnx", env: {}, code: 66, says: /does not exist/ },
    {
      name: "bad credentials: 77, the secret nowhere in the output",
      model: "s3://models/rf/model.onnx",
      env: { AWS_ACCESS_KEY_ID: "NOT-A-KEY", AWS_SECRET_ACCESS_KEY: "very-secret-value-9" },
      code: 77,
      says: /refused access to s3:\/\/models\/rf\/model.onnx/,
    },
    {
      name: "a wrong pin: 78, naming both digests",
      model: `${http.url}/rf/model.onnx#sha256=${wrongPin}`,
      env: {},
      code: 78,
      says: new RegExp(`its sha256 is ${RF_SHA}, the pin \\(#sha256=\\) is ${wrongPin}`),
    },
    {
      name: "the store unreachable and nothing cached: 69",
      model: "s3://models/rf/model.onnx",
      env: { AWS_ENDPOINT_URL_S3: "http://127.0.0.1:9" },
      code: 69,
      says: /Cannot reach the model store/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const run = await runScore(["batch", "--model", c.model, "--input", input, "--output", "-"], {
        env: { ...s3.env, ...c.env, SCORE_CACHE_DIR: join(dir.path, "cache") },
      });
      assert.equal(run.code, c.code, run.stderr);
      assert.match(run.stderr, c.says);
      assert.ok(!run.stderr.includes("very-secret-value-9") && !run.stdout.includes("very-secret-value-9"));
    });
  }
});

Deno.test("score serve restarted while the store is down serves the cached copy, with a warning", async () => {
  await using s3 = await startS3();
  await using dir = await tempDir();
  await s3.put(`1/${RUN_ID}/artifacts/model/MLmodel`, MLMODEL);
  await s3.put(`1/${RUN_ID}/artifacts/model/model.onnx`, RF_ONNX);
  const args = ["--model", `s3://mlflow/1/${RUN_ID}/artifacts/model#name=ride-duration`, "--no-access-log"];
  const env = { ...s3.env, SCORE_CACHE_DIR: join(dir.path, "cache"), SCORE_DRAIN_DELAY: "0" };
  const ride = { PULocationID: 130, DOLocationID: 205, trip_distance: 3.66 };
  for (const storeUp of [true, false]) {
    if (!storeUp) await s3.close();
    await using server = await startServer(args, env);
    const res = await fetch(`${server.url}/predict`, { method: "POST", body: JSON.stringify(ride) });
    const body = await res.json();
    assert.equal(res.status, 200);
    assert.ok(Math.abs(body.duration - 21.29) < 0.005);
    assert.equal(body.model_version, RUN_ID);
    const warned = logLines(server.lines.join("\n")).some((l) =>
      l.msg === "model store unreachable: using the last good copy"
    );
    assert.equal(warned, !storeUp);
    assert.equal(await server.stop(), 0);
  }
});

const until = (what: string, check: () => boolean) => waitUntil(check, what, 30_000);

Deno.test("score serve reloads on SIGHUP under load: no request fails, new requests get the new version", async () => {
  await using s3 = await startS3();
  await using dir = await tempDir();
  const LINREG_ONNX = await Deno.readFile(join(MODELS, "ride-duration-linreg", "model.onnx"));
  const RUN_A = "a".repeat(32), RUN_B = "b".repeat(32), RUN_C = "c".repeat(32);
  const prefix = "production/ride-duration";
  const publish = async (runId: string, onnx: Uint8Array) => {
    await s3.put(`${prefix}/model.onnx`, onnx);
    await s3.put(`${prefix}/MLmodel`, MLMODEL.replace(RUN_ID, runId));
  };
  await publish(RUN_A, LINREG_ONNX);
  await using server = await startServer(
    ["--model", `s3://mlflow/${prefix}#name=ride-duration`, "--no-access-log", "--max-batch-delay-ms", "1"],
    { ...s3.env, SCORE_CACHE_DIR: join(dir.path, "cache"), SCORE_DRAIN_DELAY: "0" },
  );
  const logs = () => logLines(server.lines.join("\n"));
  const ride = JSON.stringify({ PULocationID: 130, DOLocationID: 205, trip_distance: 3.66 });
  const answers: { status: number; version?: string; duration?: number }[] = [];
  let load = true;
  // 8 clients, each sending its next request when the last is answered: once one has seen the new
  // version, every request it sends after must get it.
  const clients = Array.from({ length: 8 }, async () => {
    let seenB = false;
    while (load) {
      const res = await fetch(`${server.url}/predict`, { method: "POST", body: ride });
      const body = await res.json();
      answers.push({ status: res.status, version: body.model_version, duration: body.duration });
      if (seenB) assert.equal(body.model_version, RUN_B, "a request sent after the swap got the old version");
      seenB ||= body.model_version === RUN_B;
    }
  });
  try {
    await until("requests on version A", () => answers.length >= 50);
    await publish(RUN_B, RF_ONNX);
    server.child.kill("SIGHUP");
    await until("version B answering", () => answers.some((a) => a.version === RUN_B));
    const reloaded = logs().find((l) => l.msg === "model reloaded");
    assert.equal(reloaded?.from_version, RUN_A);
    assert.equal(reloaded?.version, RUN_B);
    const atSwap = answers.length;
    await until("more requests on version B", () => answers.length >= atSwap + 50);

    // A new version that does not load leaves B serving and says why.
    await publish(RUN_C, new TextEncoder().encode("not an onnx model"));
    server.child.kill("SIGHUP");
    await until(
      "the failed reload",
      () => logs().some((l) => l.msg === "model reload failed: the serving version stays"),
    );
    const failed = logs().find((l) => l.msg === "model reload failed: the serving version stays")!;
    assert.equal(failed.version, RUN_B);
    assert.match(String(failed.reason), /the new version does not load: Cannot load model/);
    const afterFailure = answers.length;
    await until("requests after the failed reload", () => answers.length >= afterFailure + 20);
  } finally {
    load = false;
    await Promise.all(clients);
  }
  assert.deepEqual(answers.filter((a) => a.status !== 200), [], "no request failed");
  const durations = new Map<string, Set<number>>();
  for (const a of answers) durations.set(a.version!, (durations.get(a.version!) ?? new Set()).add(a.duration!));
  assert.deepEqual([...durations.keys()].sort(), [RUN_A, RUN_B]);
  assert.equal(durations.get(RUN_A)!.size, 1, "version A always answered with the linear model");
  assert.deepEqual([...durations.get(RUN_B)!].map((d) => Math.round(d * 100) / 100), [21.29]);
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, new RegExp(`^score_model_info\\{model="ride-duration",version="${RUN_B}"\\} 1$`, "m"));
  assert.doesNotMatch(metrics, new RegExp(`^score_model_info\\{model="ride-duration",version="${RUN_A}"\\}`, "m"));
  assert.match(metrics, /^score_model_reloads_total\{model="ride-duration",result="reloaded"\} 1$/m);
  assert.match(metrics, /^score_model_reloads_total\{model="ride-duration",result="failed"\} 1$/m);
  for (const v of [RUN_A, RUN_B]) {
    assert.match(
      metrics,
      new RegExp(
        `^score_http_requests_total\\{model="ride-duration",version="${v}",route="/predict",status="200",protocol="rest"\\} \\d+$`,
        "m",
      ),
    );
  }
  assert.equal(await server.stop(), 0);
});
