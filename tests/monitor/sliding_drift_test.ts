import assert from "node:assert/strict";
import { DatasetProfile, SlidingDrift } from "../../src/monitor/mod.ts";
import { randomSample } from "./samples.ts";

function reference(): DatasetProfile {
  const p = new DatasetProfile({ name: "m", version: "1" }, [
    { name: "x", role: "input", kind: "numeric" },
    { name: "y", role: "output", kind: "numeric" },
  ]);
  p.fold({ x: new Float64Array(randomSample("normal", 3_000, 1)) }, 3_000, {
    y: new Float64Array(randomSample("normal", 3_000, 2)),
  });
  return p;
}

const score = (d: SlidingDrift, column: string) => d.latest.find((c) => c.column === column)!.score;

Deno.test("SlidingDrift", async (t) => {
  await t.step(
    "before the first tick: rows are folded, the drift not computed yet (every column without values)",
    () => {
      const d = new SlidingDrift(reference(), { windowMs: 3_000, periodMs: 1_000 }, 0);
      d.observe({ x: new Float64Array(100).fill(5) }, 100, { y: new Float64Array(100).fill(5) });
      assert.deepEqual(d.latest.map((c) => [c.column, c.score, c.drifted]), [["x", null, false], ["y", null, false]]);
      assert.equal(d.windowRows, 0);
    },
  );

  await t.step("a tick folds them; periods older than the window leave it", () => {
    const onOutputs: number[] = [];
    const d = new SlidingDrift(reference(), {
      windowMs: 3_000,
      periodMs: 1_000,
      onOutputs: (o) => onOutputs.push(o.y.length),
    }, 0);
    // Period 0: rows from the reference's distribution.
    d.observe({ x: new Float64Array(randomSample("normal", 500, 3)) }, 500, {
      y: new Float64Array(randomSample("normal", 500, 4)),
    });
    d.tick(1_000);
    assert.equal(d.windowRows, 500);
    assert(score(d, "x")! < 0.1 && !d.latest[0].drifted, `x ${score(d, "x")}`);
    // Periods 1 and 2: shifted rows; the window holds all three periods.
    for (const at of [2_000, 3_000]) {
      d.observe({ x: new Float64Array(500).fill(3) }, 500, { y: new Float64Array(500).fill(3) });
      d.tick(at);
    }
    assert.equal(d.windowRows, 1_500);
    assert(d.latest[0].drifted);
    // At 5,000 the first period (0-1,000) and the second (1,000-2,000) are out of the 3 s window.
    d.tick(5_000);
    assert.equal(d.windowRows, 500);
    assert.deepEqual(onOutputs, [500, 500, 500]);
  });

  await t.step("a window shorter than its period is refused", () => {
    assert.throws(
      () => new SlidingDrift(reference(), { windowMs: 10, periodMs: 1_000 }),
      /the window must hold at least one period/,
    );
  });
});
