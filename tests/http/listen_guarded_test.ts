/**
 * The guarded listener (the default of `score serve`) against clients that
 * send too little or too many: the same cases as node:http's listener
 * (listen_test.ts), real sockets on loopback, timeouts of a few hundred ms.
 * Running out of descriptors: tests/commands/serve_test.ts (`ulimit -n`).
 */
import assert from "node:assert/strict";
import { listenGuarded as listen } from "../../src/http/listen_guarded.ts";
import { listenerCases, open, TIMEOUTS, within } from "./listener_cases.ts";
import { waitUntil } from "../helpers.ts";

listenerCases("listenGuarded", listen);

Deno.test("listenGuarded: shutdown answers the request in flight, closes idle connections, accepts no more", async () => {
  let started = () => {};
  const inFlight = new Promise<void>((r) => started = r);
  const server = await listen(async (req) => {
    if (new URL(req.url).pathname === "/slow") {
      started();
      await new Promise((r) => setTimeout(r, 500));
    }
    return new Response(`got ${(await req.text()).length}`);
  }, {
    hostname: "127.0.0.1",
    port: 0,
    maxConnections: 100,
    ...TIMEOUTS,
    bodyTimeoutMs: 60_000,
    keepAliveTimeoutMs: 60_000,
  });
  const idle = open(server.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  await waitUntil(() => idle.received().includes("got 0"), "the idle connection's answer", 5000);
  const slow = open(server.port, "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
  await within(5000, inFlight, "the slow request started");
  const stopping = server.shutdown();
  await within(2000, idle.closed, "the idle connection closed");
  await within(5000, stopping, "shutdown");
  assert.match(slow.received(), /^HTTP\/1\.1 200[^]*got 2$/);
  await assert.rejects(fetch(`http://127.0.0.1:${server.port}/`));
});
