/**
 * The consumer's small HTTP side, served on `--metrics-port`: `/metrics`
 * (Prometheus text) and `/health` (a liveness probe: the process answers,
 * whether or not the broker is up, since restarting us would not bring it
 * back).
 */
import { log } from "../log.ts";
import { metricsApp } from "../metrics/mod.ts";
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
  const app = metricsApp(
    metrics.registry,
    () => ({ status: "ok", model: metrics.model, connected: metrics.connected }),
  );
  return Deno.serve({
    port: o.port,
    hostname: o.hostname ?? "127.0.0.1",
    onListen: ({ hostname, port }) => log.info("metrics listening", { url: `http://${hostname}:${port}/metrics` }),
  }, app.fetch);
}
