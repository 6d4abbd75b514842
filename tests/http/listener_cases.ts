/**
 * What every hardened listener of `score serve` must do against clients that
 * send too little or too many: real sockets on loopback, timeouts of a few
 * hundred ms. listen_test.ts runs the cases on node:http's listener,
 * listen_guarded_test.ts on the guarded one.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import type { HttpListener } from "../../src/http/listen.ts";
import { waitUntil } from "../helpers.ts";

/** A listener's start, as `listen` and `listenGuarded` take it. */
type Listen = (
  handler: (req: Request) => Response | Promise<Response>,
  options: {
    hostname: string;
    port: number;
    maxConnections: number;
    headersTimeoutMs: number;
    bodyTimeoutMs: number;
    keepAliveTimeoutMs: number;
  },
) => Promise<HttpListener & { stats: NonNullable<HttpListener["stats"]> }>;

/** Timeouts short enough for a test, long enough for a loaded machine. */
export const TIMEOUTS = { headersTimeoutMs: 300, bodyTimeoutMs: 300, keepAliveTimeoutMs: 300 };

/** A raw connection: what it received and when the server closed it. */
export function open(port: number, send = ""): { socket: Socket; received: () => string; closed: Promise<number> } {
  const started = performance.now();
  let text = "";
  const socket = connect(port, "127.0.0.1", () => send && socket.write(send));
  socket.on("data", (d) => text += d);
  socket.on("error", () => {});
  const closed = new Promise<number>((r) => socket.once("close", () => r(performance.now() - started)));
  return { socket, received: () => text, closed };
}

/** `p`, or an error naming `what` after `ms`. */
export async function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)
  );
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

export function listenerCases(name: string, listen: Listen): void {
  Deno.test(`${name}: slow and idle clients are closed, the excess refused, a slow answer is not`, async (t) => {
    const server = await listen(async (req) => {
      const url = new URL(req.url);
      if (url.pathname === "/slow") await new Promise((r) => setTimeout(r, 800));
      return new Response(`got ${(await req.text()).length}`);
    }, { hostname: "127.0.0.1", port: 0, maxConnections: 4, ...TIMEOUTS });
    try {
      await t.step("a request line that never ends: closed after the headers timeout", async () => {
        const c = open(server.port, "POST /pre");
        const ms = await within(5000, c.closed, "closed");
        assert.ok(ms >= 250, `not before the timeout (${ms} ms)`);
      });
      await t.step("headers that never end: closed", async () => {
        const c = open(server.port, "POST / HTTP/1.1\r\nHost: x\r\n");
        await within(5000, c.closed, "closed");
      });
      await t.step("a body that never ends: 408, closed", async () => {
        const c = open(server.port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc");
        await within(5000, c.closed, "closed");
        assert.match(c.received(), /^HTTP\/1\.1 408/);
      });
      await t.step("an idle keep-alive connection: answered, then closed", async () => {
        const c = open(server.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        await within(5000, c.closed, "closed");
        assert.match(c.received(), /^HTTP\/1\.1 200/);
      });
      await t.step("an answer slower than every timeout still arrives", async () => {
        const c = open(server.port, "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        await within(5000, c.closed, "closed");
        assert.match(c.received(), /^HTTP\/1\.1 200[^]*got 0$/);
      });
      assert.ok(server.stats.timedOut >= 3, `timeouts counted: ${server.stats.timedOut}`);
      await t.step("a keep-alive connection idle after 20 requests: closed, one timeout counted", async () => {
        const before = server.stats.timedOut;
        const c = open(server.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(20));
        await within(5000, c.closed, "closed");
        assert.equal(c.received().match(/HTTP\/1\.1 200/g)?.length, 20);
        assert.equal(server.stats.timedOut - before, 1);
      });

      await t.step(
        "past --max-connections new connections are closed at once and counted; then served again",
        async () => {
          // The earlier steps' connections may still be closing: 4 open must mean these 4.
          await waitUntil(() => server.stats.open === 0, "the earlier connections closed", 5000);
          const refusedBefore = server.stats.refused;
          const held = Array.from({ length: 4 }, () => open(server.port));
          await waitUntil(() => server.stats.open >= 4, "4 open", 15_000);
          const extra = Array.from({ length: 3 }, () => open(server.port));
          await within(1000, Promise.all(extra.map((c) => c.closed)), "the excess closed at once");
          assert.equal(server.stats.refused - refusedBefore, 3);
          for (const c of held) c.socket.destroy();
          await waitUntil(() => server.stats.open === 0, "the server saw them close", 5000);
          const res = await fetch(`http://127.0.0.1:${server.port}/`, { method: "POST", body: "hello" });
          assert.equal(await res.text(), "got 5");
        },
      );
    } finally {
      await within(5000, server.shutdown(), "shutdown");
    }
  });
}
