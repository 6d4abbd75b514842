/**
 * KeyedHistogram stands in for prom-client's Histogram on the request path:
 * the same observations must render the same lines, byte for byte.
 */
import assert from "node:assert/strict";
import { Histogram, KeyedHistogram, metricsText, Registry } from "../../src/metrics/mod.ts";

const BUCKETS = [0.001, 0.01, 0.1, 1];

/** Observations: [labels, value]. */
type Observations = [Record<string, string>, number][];

async function bothRendered(observations: Observations): Promise<[string, string]> {
  const ours = new Registry();
  const theirs = new Registry();
  const options = { name: "t_seconds", help: 'Time "spent".', labelNames: ["model", "version", "route"] };
  const keyed = new KeyedHistogram({ ...options, buckets: BUCKETS, registers: [ours] });
  const plain = new Histogram({ ...options, buckets: BUCKETS, registers: [theirs] });
  for (const [labels, value] of observations) {
    keyed.observe(JSON.stringify(labels), labels, value);
    plain.observe(labels, value);
  }
  return [await metricsText(ours), await metricsText(theirs)];
}

Deno.test("KeyedHistogram renders as prom-client's Histogram", async (t) => {
  const a = { model: "m", version: "v1", route: "/predict" };
  const b = { model: "m", route: "/*" };
  const cases: [string, Observations][] = [
    ["one series, a value in each bucket and past the last", [[a, 0.0005], [a, 0.005], [a, 0.05], [a, 0.5], [a, 5]]],
    ["a value on a bound is in that bound's bucket", [[a, 0.001], [a, 0.01], [a, 1]]],
    ["series in the order first seen, with and without a label", [[b, 0.002], [a, 0.003], [b, 0.2]]],
    ["label values escaped", [[{ model: 'a"b\\c\nd', route: "/x" }, 0.1]]],
    ["nothing observed", []],
  ];
  for (const [name, observations] of cases) {
    await t.step(name, async () => {
      const [ours, theirs] = await bothRendered(observations);
      assert.equal(ours, theirs);
    });
  }
  await t.step("a label it does not have, or a value that is not finite, is refused", () => {
    const h = new KeyedHistogram({ name: "t2", help: "T.", labelNames: ["model"], buckets: BUCKETS, registers: [] });
    assert.throws(() => h.observe("x", { colour: "red" }, 1), /colour/);
    assert.throws(() => h.observe("m", { model: "m" }, NaN), TypeError);
  });
});
