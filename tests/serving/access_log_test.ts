/**
 * The buffered access log: valid JSON lines whatever the request id or
 * path holds, passwords redacted, nothing written before a flush.
 */
import assert from "node:assert/strict";
import { AccessLog } from "../../src/serving/access_log.ts";
import { waitUntil } from "../helpers.ts";
import { collector } from "../http/line_collector.ts";

Deno.test("AccessLog", async (t) => {
  const base = {
    requestId: "r-1",
    method: "POST",
    path: "/predict",
    route: "/predict",
    model: "m",
    status: 200,
    latencyMs: 1.25,
  };

  await t.step("one JSON line per request, in the process log's shape", () => {
    const c = collector();
    const log = new AccessLog(c.out);
    log.write(base);
    assert.deepEqual(c.lines(), [], "buffered until flushed");
    log.flush();
    const [line] = c.lines();
    assert.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual({ ...line, time: undefined }, {
      time: undefined,
      level: "info",
      msg: "request",
      request_id: "r-1",
      method: "POST",
      path: "/predict",
      route: "/predict",
      model: "m",
      status: 200,
      latency_ms: 1.25,
    });
  });

  await t.step("awkward text stays valid JSON, a password in the path is hidden, no model means no field", () => {
    const c = collector();
    const log = new AccessLog(c.out);
    const cases = [
      { ...base, requestId: 'quote"back\\slash' },
      { ...base, path: "/a\nb\u0001ü" },
      { ...base, path: "/x/postgres://u:secret@h/db", model: "" },
    ];
    for (const e of cases) log.write(e);
    log.flush();
    const lines = c.lines();
    assert.equal(lines[0].request_id, 'quote"back\\slash');
    assert.equal(lines[1].path, "/a\nb\u0001ü");
    assert.equal(lines[2].path, "/x/postgres://u:***@h/db");
    assert.equal("model" in lines[2], false);
  });

  await t.step("many lines and a line larger than the buffer: every line whole, in order", () => {
    const c = collector();
    const log = new AccessLog(c.out);
    // A path of 40k "é": 80 KB of UTF-8, over the log's buffer, amid enough lines to fill it several times.
    const long = `/${"é".repeat(40_000)}`;
    const entries = Array.from({ length: 2000 }, (_, i) => ({ ...base, requestId: `r-${i}`, path: `/p/${i}/ü` }));
    entries.splice(777, 0, { ...base, requestId: "long", path: long });
    for (const e of entries) log.write(e);
    log.flush();
    const lines = c.lines();
    assert.deepEqual(lines.map((l) => l.request_id), entries.map((e) => e.requestId));
    assert.deepEqual(lines.map((l) => l.path), entries.map((e) => e.path));
  });

  await t.step("flushes by itself after a short while", async () => {
    const c = collector();
    const log = new AccessLog(c.out);
    log.write(base);
    await waitUntil(() => c.lines().length === 1, "the buffered line to be flushed");
  });
});
