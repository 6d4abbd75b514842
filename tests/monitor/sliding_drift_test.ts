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
  await t.step("before a tick: rows are only kept, every column without values", () => {
    const d = new SlidingDrift(reference(), { windowMs: 3_000, periodMs: 1_000, maxPendingRows: 10_000 }, 0);
    d.observe({ x: new Float64Array(100).fill(5) }, 100, { y: new Float64Array(100).fill(5) });
    assert.deepEqual(d.latest.map((c) => [c.column, c.score, c.drifted]), [["x", null, false], ["y", null, false]]);
    assert.equal(d.windowRows, 0);
  });

  await t.step("a tick folds them; periods older than the window leave it", () => {
    const onOutputs: number[] = [];
    const d = new SlidingDrift(reference(), {
      windowMs: 3_000,
      periodMs: 1_000,
      maxPendingRows: 10_000,
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

  await t.step("past maxPendingRows, rows are dropped and counted until the next tick", () => {
    const d = new SlidingDrift(reference(), { windowMs: 1_000, periodMs: 1_000, maxPendingRows: 150 }, 0);
    for (let i = 0; i < 4; i++) d.observe({ x: [1] as unknown as Float64Array }, 50, { y: new Float64Array(50) });
    assert.equal(d.dropped, 50);
    d.tick(10);
    d.observe({ x: new Float64Array(50) }, 50, { y: new Float64Array(50) });
    assert.equal(d.dropped, 50);
  });

  await t.step("a window shorter than its period is refused", () => {
    assert.throws(
      () => new SlidingDrift(reference(), { windowMs: 10, periodMs: 1_000, maxPendingRows: 1 }),
      /the window must hold at least one period/,
    );
  });
});
