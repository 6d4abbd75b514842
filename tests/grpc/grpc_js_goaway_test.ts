/**
 * A client closing a busy connection does not take the server down
 * (src/grpc/grpc_js.ts, deferSessionDestroy): against a real `score serve
 * --grpc-port`, rounds of a grpc-js client on Node (tests/grpc/node_peer.cjs)
 * each make 400 calls from 8 callers on one channel and close it, which
 * sends GOAWAY. Under Deno 2.9.6's node:http2 the first such round aborted
 * the server nearly every time (nghttp2 assertion or `free(): invalid
 * pointer`, exit 134) before the workaround; now every round is answered,
 * REST and gRPC keep answering, and SIGTERM ends the server cleanly.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { MODELS } from "../helpers.ts";
import { startServer } from "../commands/serve_process.ts";
import { inferenceClient } from "./client.ts";

const NODE_PEER = join(import.meta.dirname!, "node_peer.cjs");
const ROUNDS = 5;

Deno.test("a grpc-js client closing a busy channel, round after round, leaves the server answering", async (t) => {
  await using server = await startServer([
    "--model",
    join(MODELS, "ride-duration-linreg"),
    "--grpc-port",
    "0",
    "--no-access-log",
    "--drain-delay",
    "0",
  ]);
  let exited: Deno.CommandStatus | undefined;
  const status = server.child.status.then((s) => exited = s);
  /** Fails with the server's exit and its last lines when it is gone. */
  const assertAlive = async () => {
    const answered = await Promise.race([fetch(`${server.url}/v2/health/live`).catch(() => undefined), status]);
    if (answered instanceof Response) await answered.body?.cancel();
    assert.ok(
      answered instanceof Response && answered.status === 200 && exited === undefined,
      `the server is gone (${JSON.stringify(await Promise.race([status, "still running"]))}):\n` +
        server.lines.slice(-3).join("\n"),
    );
  };
  for (let round = 1; round <= ROUNDS && exited === undefined; round++) {
    await t.step(`round ${round}: 400 calls from 8 callers, then the channel closes`, async () => {
      const peer = await new Deno.Command("node", {
        args: [NODE_PEER, String(server.grpcPort), "400", "8"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      // The server still answers after reading the GOAWAY (the abort came while it read it).
      await assertAlive();
      const out = new TextDecoder().decode(peer.stdout).trim();
      assert.equal(peer.code, 0, `failed calls: ${out}\n${new TextDecoder().decode(peer.stderr)}`);
      assert.equal(out, "0");
    });
  }
  await t.step("gRPC answers a new channel, and SIGTERM ends the server with 0", async () => {
    const client = inferenceClient(`127.0.0.1:${server.grpcPort}`);
    try {
      assert.deepEqual((await client.call("ServerLive", {})).response, { live: true });
    } finally {
      client.close();
    }
    assert.equal(await server.stop(), 0, server.lines.slice(-5).join("\n"));
  });
});
