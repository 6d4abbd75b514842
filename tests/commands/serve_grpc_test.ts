/**
 * `score serve --grpc-port` as users run it: the real launcher, gRPC and
 * REST on one process, drained together on SIGTERM (readiness false on both
 * during the drain delay, the call in flight answered, exit 0).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { MODELS, waitUntil } from "../helpers.ts";
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
