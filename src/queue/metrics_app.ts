/**
 * The small HTTP side of a process that is not a web service (`score
 * consume`): `GET /metrics` (Prometheus text) and `GET /health` (a JSON
 * liveness answer), built with Hono like the serve app.
 */
import { Hono } from "hono";
import { METRICS_CONTENT_TYPE, metricsText, type Registry } from "../metrics/mod.ts";

/**
 * The app for a registry (or what renders the text, e.g. the sum of several workers' registries) and a health
 * answer.
 *
 * @example
 * ```ts
 * Deno.serve({ port: 9464 }, metricsApp(registry, () => ({ status: "ok" })).fetch);
 * ```
 */
export function metricsApp(
  metrics: Registry | (() => Promise<string>),
  health: () => Record<string, unknown> | Promise<Record<string, unknown>>,
): Hono {
  const render = typeof metrics === "function" ? metrics : () => metricsText(metrics);
  const app = new Hono();
  app.get("/metrics", async (c) => c.text(await render(), 200, { "Content-Type": METRICS_CONTENT_TYPE }));
  app.get("/health", async (c) => c.json(await health()));
  for (const path of ["/metrics", "/health"]) {
    app.all(path, (c) => c.text("method not allowed\n", 405, { Allow: "GET, HEAD" }));
  }
  app.all("*", (c) => c.text("not found\n", 404));
  return app;
}
