/**
 * The log lines of a Postgres backfill: durations in milliseconds, and a
 * hint at info when a window selects no row.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliArgs, FIXTURES, logLines, runScore } from "../helpers.ts";
import { loadRides, monthQuery, PG_URL, withDb } from "../postgres/helpers.ts";

Deno.test("score batch --backfill: seconds rounded to ms; an empty window gets a hint", async () => {
  await withDb(["rides_logs", "preds_logs"], async (_, [rides, preds]) => {
    await loadRides(rides, join(FIXTURES, "rides_small.csv"));
    const query = monthQuery(rides);
    const r = await runScore([
      "batch",
      ...cliArgs({
        "--model": "ride-duration-linreg",
        "--no-progress": true,
        "--input": PG_URL,
        "--query": query,
        "--period": "month",
        "--backfill": true,
        "--from": "2021-01-01",
        "--to": "2021-03-01",
        "--output": PG_URL,
        "--output-table": preds,
      }),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const logs = logLines(r.stderr);
    const windows = logs.filter((l) => l.msg === "window done");
    assert.deepEqual(windows.map((w) => w.read === 0), [true, false], "January is empty, February is not");
    for (const line of [...windows, logs.find((l) => l.msg === "backfill done")!]) {
      const seconds = line.seconds as number;
      assert.equal(Math.round(seconds * 1000) / 1000, seconds, `${line.msg}: ${seconds} is in whole ms`);
    }
    const hints = logs.filter((l) => typeof l.msg === "string" && /window had no rows/.test(l.msg));
    assert.equal(hints.length, 1);
    assert.equal(hints[0].level, "info");
    assert.equal(hints[0].window_start, "2021-01-01T00:00:00.000Z");
    assert.equal(hints[0].window_end, "2021-02-01T00:00:00.000Z");
    assert.equal(hints[0].query, query);
  });
});
