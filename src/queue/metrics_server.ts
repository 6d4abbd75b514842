/**
 * The consumer's small HTTP side: `/metrics` (Prometheus text) and
 * `/health` (a liveness probe: the process answers, whether or not the
 * broker is up, since restarting us would not bring it back).
 */
import { log } from "../log.ts";
import type { ConsumerMetrics } from "./consumer_metrics.ts";

/**
 * Serves `metrics` on `port` until the returned server is shut down.
 *
 * @example
 * ```ts
 * const server = serveMetrics(new ConsumerMetrics("m"), { port: 9464 });
 * await server.shutdown();
 * ```
 */
export function serveMetrics(metrics: ConsumerMetrics, o: { port: number; hostname?: string }): Deno.HttpServer {
  return Deno.serve({
    port: o.port,
    hostname: o.hostname ?? "0.0.0.0",
    onListen: ({ hostname, port }) => log.info("metrics listening", { url: `http://${hostname}:${port}/metrics` }),
  }, (req) => {
    const { pathname } = new URL(req.url);
    if (req.method !== "GET" && req.method !== "HEAD") return new Response("method not allowed\n", { status: 405 });
    if (pathname === "/metrics") {
      return new Response(metrics.render(), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    }
    if (pathname === "/health") {
      return Response.json({ status: "ok", model: metrics.model, connected: metrics.connected });
    }
    return new Response("not found\n", { status: 404 });
  });
}
