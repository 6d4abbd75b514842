/**
 * The prediction log against the real Postgres: batches written with COPY,
 * awkward text kept intact, a full buffer and a failing COPY counted as
 * drops, never thrown.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { type LoggedPrediction, PredictionLog, splitTableUrl } from "../../src/serving/prediction_log.ts";
import { randomName, waitUntil } from "../helpers.ts";

const PG_URL = "postgres://postgres@127.0.0.1:5432/test";

function record(i: number, features: Record<string, unknown> = {}): LoggedPrediction {
  return {
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
    requestId: `r${i}`,
    model: "m",
    modelVersion: "v1",
    features: { i, ...features },
    outputs: { y: i * 2, big: 2n ** 60n, ok: true },
  };
}

Deno.test("splitTableUrl", async (t) => {
  const cases: [string, { url: string; table: string } | RegExp][] = [
    [`${PG_URL}/preds`, { url: PG_URL, table: "preds" }],
    [`${PG_URL}/analytics.preds`, { url: PG_URL, table: "analytics.preds" }],
    ["postgres://u:pw@db:5433/app/preds?sslmode=require", {
      url: "postgres://u:pw@db:5433/app?sslmode=require",
      table: "preds",
    }],
    [PG_URL, /the prediction log URL must be .*a database and a table/],
    ["mysql://h/db/t", /postgres:\/\//],
  ];
  for (const [input, expected] of cases) {
    await t.step(input, () => {
      if (expected instanceof RegExp) assert.throws(() => splitTableUrl(input), expected);
      else assert.deepEqual(splitTableUrl(input), expected);
    });
  }
});

Deno.test("PredictionLog writes in the background and counts what it drops", async (t) => {
  const sql = postgres(PG_URL, { max: 1, onnotice: () => {} });
  const tables: string[] = [];
  const open = async (options: Parameters<typeof PredictionLog.open>[1]) => {
    const table = randomName("predlog");
    tables.push(table);
    return { table, log: await PredictionLog.open(`${PG_URL}/${table}`, options) };
  };
  try {
    await t.step("records arrive intact, with tabs, newlines, backslashes and quotes", async () => {
      const { table, log } = await open({ flushMs: 10 });
      const awkward = { s: 'tab\tnew\nline back\\slash "quote" ünï', literal: "\\u0000" };
      log.write(record(1, awkward));
      log.write(record(2));
      await log.close();
      assert.equal(log.written, 2);
      assert.equal(log.dropped, 0);
      const rows = await sql`select logged_at, request_id, model, model_version, features, outputs,
        outputs->>'big' as big, jsonb_typeof(outputs->'big') as big_type from ${sql(table)} order by request_id`;
      assert.equal(rows.length, 2);
      assert.deepEqual(rows[0].features, { i: 1, ...awkward });
      assert.deepEqual({ ...rows[0].outputs, big: undefined }, { y: 2, big: undefined, ok: true });
      // A bigint is a JSON number with all its digits (postgres.js itself reads jsonb numbers as doubles).
      assert.deepEqual([rows[0].big, rows[0].big_type], ["1152921504606846976", "number"]);
      assert.equal((rows[0].logged_at as Date).toISOString(), "2026-01-01T00:00:01.000Z");
      assert.deepEqual([rows[1].request_id, rows[1].model, rows[1].model_version], ["r2", "m", "v1"]);
    });

    await t.step("NULs, which jsonb refuses, become U+FFFD instead of failing the batch", async () => {
      const { table, log } = await open({ flushMs: 10 });
      log.write(record(1, { "k\u0000ey": "nul\u0000here" }));
      log.write(record(2));
      await log.close();
      assert.deepEqual([log.written, log.dropped], [2, 0]);
      const rows = await sql`select features from ${sql(table)} order by request_id`;
      assert.deepEqual(rows[0].features, { i: 1, "k\uFFFDey": "nul\uFFFDhere" });
    });

    await t.step("one record with a lone surrogate or a NUL among good ones drops nothing", async () => {
      const { table, log } = await open({ flushMs: 10 });
      for (let i = 0; i < 500; i++) log.write(record(i));
      log.write({ ...record(500, { s: "lone\ud800", t: "\udc00x" }), requestId: "r500\u0000\ud800" });
      for (let i = 501; i < 1001; i++) log.write(record(i));
      await log.close();
      assert.deepEqual([log.written, log.dropped], [1001, 0]);
      const [row] = await sql`select request_id, features from ${sql(table)} where features->>'i' = '500'`;
      assert.equal(row.request_id, "r500\uFFFD\uFFFD");
      assert.deepEqual(row.features, { i: 500, s: "lone\uFFFD", t: "\uFFFDx" });
    });

    await t.step("a full buffer drops new records and counts them; write never throws", async () => {
      const { table, log } = await open({ bufferRows: 5, flushMs: 10 });
      for (let i = 0; i < 20; i++) log.write(record(i));
      assert.equal(log.buffered, 5);
      assert.equal(log.dropped, 15);
      await log.close();
      assert.equal(log.written, 5);
      const [{ n }] = await sql`select count(*)::int as n from ${sql(table)}`;
      assert.equal(n, 5);
    });

    await t.step("a failing COPY drops its batch, counted, and the log keeps going", async () => {
      const { table, log } = await open({ flushMs: 10 });
      await sql`drop table ${sql(table)}`;
      log.write(record(1));
      await waitUntil(() => log.dropped > 0, "the failed batch to be dropped");
      assert.equal(log.dropped, 1);
      assert.equal(log.written, 0);
      await sql`create table ${
        sql(table)
      } (logged_at timestamptz, request_id text, model text, model_version text, features jsonb, outputs jsonb)`;
      log.write(record(2));
      await waitUntil(() => log.written > 0, "the log to write again");
      assert.equal(log.written, 1);
      await log.close();
      const [{ n }] = await sql`select count(*)::int as n from ${sql(table)}`;
      assert.equal(n, 1);
    });
  } finally {
    for (const table of tables) await sql`drop table if exists ${sql(table)}`;
    await sql.end();
  }
});
