/**
 * node:http's listener (`score serve --listener node`): the hardened
 * listener's cases (listener_cases.ts), and its default connection cap.
 */
import assert from "node:assert/strict";
import { defaultMaxConnections, listen } from "../../src/http/listen.ts";
import { waitUntil } from "../helpers.ts";
import { listenerCases, TIMEOUTS } from "./listener_cases.ts";

listenerCases("listen", listen);

Deno.test("defaultMaxConnections: half the open-files limit", () => {
  const limits = (n: string) =>
    `Limit                     Soft Limit           Hard Limit           Units     
Max open files            ${n}                 1048576              files     
`;
  assert.equal(defaultMaxConnections(limits("512")), 256);
  assert.equal(defaultMaxConnections(limits("unlimited")), 100_000);
  assert.equal(defaultMaxConnections(""), 1000);
});

Deno.test("listen: the watchdog's probes of a healthy listener are accepted, and no accept error is counted", async () => {
  const server = await listen(() => new Response("ok"), {
    hostname: "127.0.0.1",
    port: 0,
    maxConnections: 100,
    ...TIMEOUTS,
  });
  try {
    await waitUntil(() => server.stats.probesAccepted >= 3, "three probes accepted", 20_000);
    assert.equal(server.stats.acceptErrors, 0);
    const res = await fetch(`http://127.0.0.1:${server.port}/`);
    assert.equal(await res.text(), "ok");
  } finally {
    await server.shutdown();
  }
});
