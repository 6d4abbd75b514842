/**
 * The small HTTP side of a process that is not a web service (`score
 * consume`): `GET /metrics` (Prometheus text) and `GET /health` (a JSON
 * liveness answer), built with Hono like the serve app.
 */
import { Hono } from "hono";
import { METRICS_CONTENT_TYPE, metricsText, type Registry } from "./registry.ts";

/**
 * The app for a registry and a health answer.
 *
 * @example
 * ```ts
 * Deno.serve({ port: 9464 }, metricsApp(registry, () => ({ status: "ok" })).fetch);
 * ```
 */
export function metricsApp(registry: Registry, health: () => Record<string, unknown>): Hono {
  const app = new Hono();
  app.get("/metrics", async (c) => c.text(await metricsText(registry), 200, { "Content-Type": METRICS_CONTENT_TYPE }));
  app.get("/health", (c) => c.json(health()));
  for (const path of ["/metrics", "/health"]) {
    app.all(path, (c) => c.text("method not allowed\n", 405, { Allow: "GET, HEAD" }));
  }
  app.all("*", (c) => c.text("not found\n", 404));
  return app;
}
