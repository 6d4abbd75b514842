/**
 * `score serve --grpc-port` as users run it: the real launcher, gRPC and
 * REST on one process, drained together on SIGTERM (readiness false on both
 * during the drain delay, the call in flight answered, exit 0), and a
 * SIGHUP reload under gRPC load that fails no call.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { MODELS, tempDir, waitUntil } from "../helpers.ts";
import { inferenceClient } from "../grpc/client.ts";
import { requestsInFlight, startServer } from "./serve_process.ts";

const RIDE = {
  model_name: "ride-duration-linreg",
  inputs: [
    { name: "PULocationID", datatype: "INT64", shape: [1], contents: { int64_contents: ["10"] } },
    { name: "DOLocationID", datatype: "INT64", shape: [1], contents: { int64_contents: ["50"] } },
    { name: "trip_distance", datatype: "FP64", shape: [1], contents: { fp64_contents: [40] } },
  ],
};

Deno.test("score serve --grpc-port drains gRPC with REST on SIGTERM: not ready, the call in flight answered, exit 0", async () => {
  // A lone call waits 3 s in the batcher for company: it is surely in flight when the signal comes.
  await using server = await startServer([
    "--model",
    join(MODELS, "ride-duration-linreg"),
    "--grpc-port",
    "0",
    "--max-batch-delay-ms",
    "3000",
    "--drain-delay",
    "1",
  ]);
  assert.ok(server.grpcPort! > 0);
  const client = inferenceClient(`127.0.0.1:${server.grpcPort}`);
  try {
    assert.deepEqual((await client.call("ServerReady", {})).response, { ready: true });
    const inFlight = client.call("ModelInfer", RIDE, { deadlineMs: 30_000 });
    await requestsInFlight(server, 1);
    const code = server.stop("SIGTERM");
    await waitUntil(
      async () => (await client.call("ServerReady", {})).response?.ready === false,
      "gRPC readiness to turn false",
    );
    assert.equal((await fetch(`${server.url}/v2/health/ready`)).status, 400);
    const answered = await inFlight;
    assert.equal(answered.code, "OK", answered.details ?? "");
    assert.deepEqual(answered.response.outputs[0].contents.fp64_contents, [26.43883355119793]);
    assert.equal(await code, 0);
    assert.ok(server.lines.some((l) => l.includes('"protocol":"grpc"') && l.includes('"status":"OK"')));
  } finally {
    client.close();
  }
});

Deno.test("score serve --grpc-port reloads on SIGHUP under gRPC load: no call fails, later calls get the new version", async () => {
  await using dir = await tempDir();
  const mlmodel = (runId: string) => `flavors:\n  onnx:\n    data: model.onnx\nrun_id: ${runId}\n`;
  await Deno.copyFile(join(MODELS, "ride-duration-linreg", "model.onnx"), join(dir.path, "model.onnx"));
  await Deno.writeTextFile(join(dir.path, "MLmodel"), mlmodel("run-a"));
  await using server = await startServer([
    "--model",
    `file://${dir.path}#name=ride-duration-linreg`,
    "--grpc-port",
    "0",
    "--cache-dir",
    join(dir.path, "cache"),
    "--max-batch-delay-ms",
    "2",
    "--drain-delay",
    "0",
  ]);
  // The load: 4 Python grpcio clients (tests/grpc/python_peer.py), 300 calls each. (A grpc-js client closing a
  // busy connection can abort a Deno 2.9.6 server: docs/serve.md, known issue.)
  const peers = Array.from({ length: 4 }, async () => {
    const child = new Deno.Command("/usr/bin/python3", {
      args: [join(import.meta.dirname!, "..", "grpc", "python_peer.py")],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    const calls = Array.from({ length: 300 }, () => ({ method: "ModelInfer", request: RIDE, timeout: 30 }));
    await writer.write(new TextEncoder().encode(JSON.stringify({ target: `127.0.0.1:${server.grpcPort}`, calls })));
    await writer.close();
    const out = await child.output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return new TextDecoder().decode(out.stdout).trimEnd().split("\n").map((l) => JSON.parse(l));
  });
  const answered = async () =>
    Number(
      /route="\/inference.GRPCInferenceService\/ModelInfer",status="OK",protocol="grpc"\} (\d+)/.exec(
        await (await fetch(`${server.url}/metrics`)).text(),
      )?.[1] ?? 0,
    );
  await waitUntil(async () => await answered() >= 100, "calls before the reload", 60_000);
  // The new version: another model under the same name, with a new run id.
  await Deno.copyFile(join(MODELS, "ride-duration-rf", "model.onnx"), join(dir.path, "model.onnx.new"));
  await Deno.rename(join(dir.path, "model.onnx.new"), join(dir.path, "model.onnx"));
  await Deno.writeTextFile(join(dir.path, "MLmodel"), mlmodel("run-b"));
  server.child.kill("SIGHUP");
  await waitUntil(() => server.lines.some((l) => l.includes('"msg":"model reloaded"')), "the reload", 60_000);
  const outcomes = (await Promise.all(peers)).flat();
  assert.equal(outcomes.length, 1200);
  assert.deepEqual(outcomes.filter((o) => o.code !== "OK"), []);
  const versions = outcomes.map((o) => o.response.model_version);
  assert.ok(versions.includes("run-a"), "calls before the reload answered by run-a");
  assert.ok(versions.includes("run-b"), "calls after the reload answered by run-b");
  assert.equal(await server.stop("SIGTERM"), 0);
});
