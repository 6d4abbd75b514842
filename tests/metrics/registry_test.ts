import assert from "node:assert/strict";
import client from "prom-client";
import { AggregatorRegistry } from "../../src/metrics/aggregator_registry.ts";
import { Counter, Gauge, Histogram, metricsText, Registry, summedText } from "../../src/metrics/registry.ts";

Deno.test("the registry's classes, taken from prom-client's own files", async (t) => {
  await t.step("are the classes prom-client's index exports (a release that moves them fails here)", () => {
    const cases: [string, unknown, unknown][] = [
      ["Registry", Registry, client.Registry],
      ["Counter", Counter, client.Counter],
      ["Gauge", Gauge, client.Gauge],
      ["Histogram", Histogram, client.Histogram],
      ["AggregatorRegistry", AggregatorRegistry, client.AggregatorRegistry],
    ];
    for (const [name, ours, index] of cases) assert.equal(ours, index, name);
  });
  await t.step("render and sum as the index's do", async () => {
    const [a, b] = [new Registry(), new Registry()];
    for (const [registry, n] of [[a, 2], [b, 3]] as const) {
      new Counter({ name: "runs_total", help: "Runs.", registers: [registry] }).inc(n);
      new Histogram({ name: "rows", help: "Rows.", buckets: [1, 10], registers: [registry] }).observe(n);
    }
    assert.match(await metricsText(a), /^runs_total 2$/m);
    const summed = await summedText([await a.getMetricsAsJSON(), await b.getMetricsAsJSON()]);
    assert.match(summed, /^runs_total 5$/m);
    assert.match(summed, /^rows_bucket\{le="10"\} 2$/m);
    assert.match(summed, /^rows_count 2$/m);
  });
});
