/**
 * What score relies on from @grpc/grpc-js and @grpc/proto-loader under this
 * Deno (src/grpc/grpc_js.ts), pinned with handlers of our own over real
 * HTTP/2: int64 as exact text and bytes as bytes, a thrown status with its
 * message, UNIMPLEMENTED for a method without a handler, cancel and deadline
 * seen by the handler and told apart, the message size limit, response
 * headers, and a shutdown that lets the call in flight finish.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { GrpcError, listenGrpc, methodNames, STATUS, type UnaryCall } from "../../src/grpc/grpc_js.ts";
import { waitUntil } from "../helpers.ts";
import { inferenceClient } from "./client.ts";

Deno.test("the grpc-js adapter", async (t) => {
  const seen: { request?: any; call?: UnaryCall; ended?: string } = {};
  let release = () => {};
  const server = await listenGrpc({
    ModelInfer: async (request, call) => {
      seen.request = request;
      seen.call = call;
      call.setHeader("x-request-id", "abc");
      if (request.id === "fail") throw new GrpcError(STATUS.NOT_FOUND, "no such thing");
      if (request.id === "bug") throw new Error("a bug");
      if (request.id === "wait") {
        await new Promise<void>((resolve) => {
          release = resolve;
          call.signal.addEventListener("abort", () => resolve(), { once: true });
        });
        seen.ended = call.signal.aborted ? (call.deadlineExceeded() ? "deadline" : "cancelled") : "released";
      }
      return { model_name: "m", id: request.id, outputs: [{ name: "y", shape: ["9007199254740993"] }] };
    },
  }, { hostname: "127.0.0.1", port: 0, maxMessageBytes: 64 * 1024 });
  const client = inferenceClient(`127.0.0.1:${server.port}`);
  try {
    await t.step("the service has the six methods of the proto", () => {
      assert.deepEqual(methodNames(), [
        "ServerLive",
        "ServerReady",
        "ModelReady",
        "ServerMetadata",
        "ModelMetadata",
        "ModelInfer",
      ]);
    });

    await t.step("int64 arrives as exact decimal text, bytes as bytes; headers reach the client", async () => {
      const out = await client.call("ModelInfer", {
        id: "x",
        inputs: [{ name: "a", shape: ["9007199254740993"], contents: { int64_contents: ["-9223372036854775808"] } }],
        raw_input_contents: [Buffer.from([1, 2, 3])],
      });
      assert.equal(out.code, "OK");
      assert.deepEqual(seen.request.inputs[0].shape, ["9007199254740993"]);
      assert.deepEqual(seen.request.inputs[0].contents.int64_contents, ["-9223372036854775808"]);
      assert.ok(seen.request.raw_input_contents[0] instanceof Uint8Array);
      assert.deepEqual([...seen.request.raw_input_contents[0]], [1, 2, 3]);
      assert.deepEqual(out.response.outputs[0].shape, ["9007199254740993"]);
      assert.equal(out.headers!["x-request-id"], "abc");
    });

    await t.step("an answered call's signal stays unaborted once its stream closes", async () => {
      const out = await client.call("ModelInfer", { id: "answered" });
      assert.equal(out.code, "OK");
      const answered = seen.call!;
      // The stream's close reaches the server after the answer: further calls on the connection let it land.
      for (let i = 0; i < 20; i++) assert.equal((await client.call("ModelInfer", { id: `after ${i}` })).code, "OK");
      assert.equal(answered.signal.aborted, false);
    });

    await t.step("a thrown status keeps its code and message; anything else is INTERNAL", async () => {
      const failed = await client.call("ModelInfer", { id: "fail" });
      assert.deepEqual([failed.code, failed.details, failed.headers!["x-request-id"]], [
        "NOT_FOUND",
        "no such thing",
        "abc",
      ]);
      assert.equal((await client.call("ModelInfer", { id: "bug" })).code, "INTERNAL");
    });

    await t.step("a method without a handler is UNIMPLEMENTED", async () => {
      assert.equal((await client.call("ServerLive", {})).code, "UNIMPLEMENTED");
    });

    await t.step("a cancel aborts the handler's signal, and is not a deadline", async () => {
      const abort = new AbortController();
      const call = client.call("ModelInfer", { id: "wait" }, { signal: abort.signal });
      await waitUntil(() => seen.request?.id === "wait", "the call in the handler");
      abort.abort();
      assert.equal((await call).code, "CANCELLED");
      await waitUntil(() => seen.ended !== undefined, "the handler to end");
      assert.equal(seen.ended, "cancelled");
    });

    await t.step("a deadline aborts the handler's signal, and says it was the deadline", async () => {
      seen.ended = undefined;
      const out = await client.call("ModelInfer", { id: "wait" }, { deadlineMs: 200 });
      assert.equal(out.code, "DEADLINE_EXCEEDED");
      await waitUntil(() => seen.ended !== undefined, "the handler to end");
      assert.equal(seen.ended, "deadline");
    });

    await t.step("a message over the limit is RESOURCE_EXHAUSTED before any handler runs", async () => {
      seen.request = undefined;
      const out = await client.call("ModelInfer", { id: "big", raw_input_contents: [Buffer.alloc(65 * 1024)] });
      assert.equal(out.code, "RESOURCE_EXHAUSTED");
      assert.equal(seen.request, undefined);
    });

    await t.step("a second server on the same port fails with EADDRINUSE", async () => {
      const err = await listenGrpc({}, { hostname: "127.0.0.1", port: server.port, maxMessageBytes: 1024 }).then(
        () => undefined,
        (e) => e,
      );
      assert.equal(err?.code, "EADDRINUSE");
    });

    await t.step("shutdown refuses new calls and waits for the one in flight", async () => {
      seen.ended = undefined;
      seen.request = undefined;
      const inFlight = client.call("ModelInfer", { id: "wait" });
      await waitUntil(() => seen.request?.id === "wait", "the call in the handler");
      let stopped = false;
      const stopping = server.shutdown().then(() => stopped = true);
      const late = await inferenceClient(`127.0.0.1:${server.port}`).call("ModelInfer", { id: "late" });
      assert.equal(late.code, "UNAVAILABLE");
      assert.equal(stopped, false);
      release();
      assert.equal((await inFlight).code, "OK");
      await stopping;
      assert.equal(seen.ended, "released");
    });
  } finally {
    client.close();
    server.close();
  }
});
