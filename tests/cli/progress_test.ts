import assert from "node:assert/strict";
import { startProgress } from "../../src/cli/progress.ts";

Deno.test("progress lines off a terminal", async (t) => {
  await t.step("rows, rows/s, percent and ETA when the size is known", async () => {
    const lines: Record<string, unknown>[] = [];
    const progress = startProgress("scoring", () => ({ done: 250, total: 1000 }), {
      interactive: false,
      intervalMs: 0,
      report: (f) => lines.push(f),
    });
    await new Promise((r) => setTimeout(r, 20));
    progress.update({ read: 2500, predicted: 2490, rejected: 10 });
    progress.stop();
    assert.equal(lines.length, 1);
    const [line] = lines;
    assert.deepEqual([line.read, line.predicted, line.rejected, line.percent], [2500, 2490, 10, 25]);
    assert.ok((line.rows_per_s as number) > 0);
    assert.ok((line.eta_s as number) >= 0);
  });
  await t.step("no percent or ETA when the size is unknown", () => {
    const lines: Record<string, unknown>[] = [];
    const progress = startProgress("scoring", () => undefined, {
      interactive: false,
      intervalMs: 0,
      report: (f) => lines.push(f),
    });
    progress.update({ read: 1, predicted: 1, rejected: 0 });
    progress.stop();
    assert.equal(lines.length, 1);
    assert.equal(lines[0].percent, undefined);
    assert.equal(lines[0].eta_s, undefined);
  });
  await t.step("at most one line per interval", () => {
    const lines: Record<string, unknown>[] = [];
    const progress = startProgress("scoring", () => undefined, {
      interactive: false,
      intervalMs: 60_000,
      report: (f) => lines.push(f),
    });
    for (let i = 0; i < 100; i++) progress.update({ read: i, predicted: i, rejected: 0 });
    progress.stop();
    assert.equal(lines.length, 0);
  });
});
