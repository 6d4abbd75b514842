/**
 * The consumer's metrics app over a registry: the exposition text and its
 * content type, scraped values read at each scrape, labels escaped once.
 */
import assert from "node:assert/strict";
import { Counter, METRICS_CONTENT_TYPE, Registry, scrapedCounter, scrapedGauge } from "../../src/metrics/mod.ts";
import { metricsApp } from "../../src/queue/metrics_app.ts";

Deno.test("metrics app", async (t) => {
  const registry = new Registry();
  let written = 0;
  scrapedCounter(registry, { name: "t_written_total", help: "Written.", read: () => [{ value: written }] });
  scrapedGauge(registry, {
    name: "t_info",
    help: "Info.",
    labelNames: ["model"],
    read: () => [{ labels: { model: 'a"b\\c\nd' }, value: 1 }],
  });
  new Counter({ name: "t_runs_total", help: "Runs.", registers: [registry] }).inc(2);
  const app = metricsApp(registry, () => ({ status: "ok" }));

  await t.step("GET /metrics: the text format, scraped values current, labels escaped", async () => {
    written = 7;
    const res = await app.request("/metrics");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), METRICS_CONTENT_TYPE);
    const text = await res.text();
    assert.match(text, /^# TYPE t_written_total counter\nt_written_total 7$/m);
    assert.match(text, /^t_info\{model="a\\"b\\\\c\\nd"\} 1$/m);
    assert.match(text, /^t_runs_total 2$/m);
    written = 9;
    assert.match(await (await app.request("/metrics")).text(), /^t_written_total 9$/m);
  });

  await t.step("GET /health answers its JSON", async () => {
    const res = await app.request("/health");
    assert.deepEqual([res.status, await res.json()], [200, { status: "ok" }]);
  });

  await t.step("other methods and paths", async () => {
    const post = await app.request("/metrics", { method: "POST" });
    assert.deepEqual([post.status, post.headers.get("allow")], [405, "GET, HEAD"]);
    assert.equal((await app.request("/nope")).status, 404);
  });
});
