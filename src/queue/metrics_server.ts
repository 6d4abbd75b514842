/**
 * The consumer's small HTTP side, served on `--metrics-port`: `/metrics`
 * (Prometheus text) and `/health` (a liveness probe: the process answers,
 * whether or not the broker is up, since restarting us would not bring it
 * back).
 */
import { log } from "../log.ts";
import { metricsApp } from "./metrics_app.ts";

/**
 * What the server shows: one consumer's metrics (a `ConsumerMetrics`), or
 * the sum of `--workers` consumers' (src/commands/consume_workers.ts).
 */
export interface MetricsSource {
  readonly model: string;
  /** The Prometheus exposition text. */
  render(): Promise<string>;
  /** True while connected to the broker (every worker, with `--workers`). */
  isConnected(): boolean | Promise<boolean>;
}

/**
 * Serves `metrics` on `port` until the returned server is shut down.
 *
 * @example
 * ```ts
 * const server = serveMetrics(new ConsumerMetrics("m"), { port: 9464 });
 * await server.shutdown();
 * ```
 */
export function serveMetrics(metrics: MetricsSource, o: { port: number; hostname?: string }): Deno.HttpServer {
  const app = metricsApp(
    () => metrics.render(),
    async () => ({ status: "ok", model: metrics.model, connected: await metrics.isConnected() }),
  );
  return Deno.serve({
    port: o.port,
    hostname: o.hostname ?? "127.0.0.1",
    onListen: ({ hostname, port }) => log.info("metrics listening", { url: `http://${hostname}:${port}/metrics` }),
  }, app.fetch);
}
