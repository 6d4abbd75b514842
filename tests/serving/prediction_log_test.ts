/**
 * The prediction log against the real Postgres: batches written with COPY,
 * awkward text kept intact, a full buffer and a failing COPY counted as
 * drops, never thrown; and, on a private server, Postgres restarted, its
 * backend killed or gone silent under load: the log reconnects, says so
 * once per outage, counts what it drops and closes within its bound.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { log } from "../../src/log.ts";
import { connectPostgres } from "../../src/postgres/connect.ts";
import { type LoggedPrediction, PredictionLog, splitTableUrl } from "../../src/serving/prediction_log.ts";
import { randomName, waitUntil } from "../helpers.ts";
import { CAN_START_POSTGRES, holdInserts, type PrivatePostgres, startPostgres } from "../postgres/private_postgres.ts";

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

    await t.step(
      "a record Postgres refuses (JSON nested past its stack) is dropped alone, not with its batch",
      async () => {
        const { table, log } = await open({ flushMs: 10 });
        let deep: unknown = [];
        for (let d = 0; d < 50_000; d++) deep = [deep];
        for (let i = 0; i < 300; i++) log.write(record(i));
        log.write(record(300, { meta: deep }));
        for (let i = 301; i < 600; i++) log.write(record(i));
        await log.close();
        assert.deepEqual([log.written, log.dropped], [599, 1]);
        const [{ n, bad }] =
          await sql`select count(*)::int as n, count(*) filter (where features->>'i' = '300')::int as bad
        from ${sql(table)}`;
        assert.deepEqual([n, bad], [599, 0]);
      },
    );

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

/** The prediction log's own log lines, captured while in scope. */
function captureLog(): { lines: Record<string, unknown>[]; messages(start: string): string[] } & Disposable {
  const lines: Record<string, unknown>[] = [];
  log.divert((line) => {
    const parsed = JSON.parse(line);
    if (String(parsed.msg).startsWith("prediction log:")) lines.push(parsed);
  });
  return {
    lines,
    messages: (start) => lines.map((l) => String(l.msg)).filter((m) => m.startsWith(start)),
    [Symbol.dispose]: () => log.divert(undefined),
  };
}

/** Appends `perTick` records every few milliseconds until stopped, numbered from 0. */
function load(predictions: PredictionLog, perTick: number) {
  let appended = 0;
  let running = true;
  const done = (async () => {
    while (running) {
      for (let k = 0; k < perTick; k++) predictions.write(record(appended++));
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    get appended() {
      return appended;
    },
    async stop() {
      running = false;
      await done;
    },
  };
}

const LOST = "prediction log: lost Postgres";
const BACK = "prediction log: Postgres is back";

/** `select ... from logged` on a connection of its own. */
async function query(pg: PrivatePostgres, text: string): Promise<Record<string, unknown>[]> {
  const admin = await connectPostgres(pg.url, { retries: 8 });
  try {
    return await admin.sql.unsafe(text);
  } finally {
    await admin.close();
  }
}

Deno.test({
  name: "PredictionLog under load: three Postgres restarts and a killed backend, each a reconnect logged once",
  ignore: !CAN_START_POSTGRES,
  async fn(t) {
    await using pg = await startPostgres();
    using captured = captureLog();
    const predictions = await PredictionLog.open(`${pg.url}/logged`, {
      flushMs: 20,
      batchRows: 2_000,
      bufferRows: 20_000,
      maxBackoffMs: 500,
    });
    const producer = load(predictions, 100);
    try {
      await waitUntil(() => predictions.written > 0, "the first rows written", 30_000);
      // Each outage with the server down a while: the writer must try (and fail) while it is away.
      const down = (ms: number) => async () => {
        await pg.stop();
        await new Promise((r) => setTimeout(r, ms));
        await pg.start();
      };
      const outages: { name: string; run(): Promise<unknown> }[] = [
        { name: "restart (pg_ctl restart -m fast)", run: () => pg.restart() },
        { name: "restart with the server down 1 s", run: down(1_000) },
        { name: "restart with the server down 3 s (the buffer fills)", run: down(3_000) },
        {
          name: "the backend killed with pg_terminate_backend",
          run: async () => {
            const [{ n }] = await query(
              pg,
              "select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where application_name = 'score serve predictions'",
            );
            assert.equal(n, 1, "the log's backend was found and killed");
          },
        },
      ];
      for (const [k, outage] of outages.entries()) {
        await t.step(outage.name, async () => {
          await outage.run();
          const before = predictions.written;
          await waitUntil(
            () => predictions.written > before,
            `the written count to move after the outage (written ${before}, buffered ${predictions.buffered}, dropped ${predictions.dropped})`,
            30_000,
          );
          await waitUntil(() => captured.messages(BACK).length > k, "the log to say Postgres is back", 10_000);
          assert.equal(captured.messages(LOST).length, k + 1, "one warning per outage");
          assert.equal(captured.messages(BACK).length, k + 1, "one line per return");
        });
      }
      await producer.stop();
      await predictions.close(30_000);
    } finally {
      await producer.stop();
      await predictions.close(0);
    }
    await t.step("losses and returns alternate, a warning then an info, with the rows dropped and kept", () => {
      const pairs = captured.lines.filter((l) => [LOST, BACK].some((m) => String(l.msg).startsWith(m)));
      assert.equal(pairs.length, 8);
      for (const [i, line] of pairs.entries()) {
        assert.equal(line.level, i % 2 === 0 ? "warn" : "info", String(line.msg));
        assert.ok(String(line.msg).startsWith(i % 2 === 0 ? LOST : BACK), String(line.msg));
        if (i % 2 === 0) assert.match(String(line.error), /Postgres at 127\.0\.0\.1:\d+/);
        else assert.ok(Number.isInteger(line.dropped) && Number.isInteger(line.kept), JSON.stringify(line));
      }
      assert.deepEqual(captured.messages("prediction log: gave up"), [], "everything buffered was flushed at close");
    });
    await t.step(
      "every record appended is written or counted as dropped; the table holds exactly those written",
      async () => {
        assert.equal(predictions.buffered, 0);
        assert.equal(predictions.written + predictions.dropped, producer.appended);
        const [row] = await query(
          pg,
          `select count(*)::int as n, count(distinct request_id)::int as distinct_ids,
           min((features->>'i')::int) as first, max((features->>'i')::int) as last,
           count(*) filter (where request_id <> 'r' || (features->>'i'))::int as mismatched from logged`,
        );
        assert.deepEqual(row, {
          n: predictions.written,
          distinct_ids: predictions.written,
          first: 0,
          last: row.last,
          mismatched: 0,
        });
        assert.ok((row.last as number) < producer.appended, "only records that were appended");
      },
    );
  },
});

Deno.test({
  name: "PredictionLog: a COPY that never finishes is abandoned past its bound and the log reconnects",
  ignore: !CAN_START_POSTGRES,
  async fn() {
    await using pg = await startPostgres();
    using captured = captureLog();
    const admin = await connectPostgres(pg.url);
    const predictions = await PredictionLog.open(`${pg.url}/logged`, { flushMs: 10, copyTimeoutMs: 1_000 });
    try {
      const hold = await holdInserts(admin, "logged");
      await hold.on();
      for (let i = 0; i < 100; i++) predictions.write(record(i));
      await hold.reached();
      await hold.off();
      // The held COPY sleeps a minute, as a server gone silent would: the log gives up on it after 1 s.
      let i = 100;
      await waitUntil(
        () => {
          predictions.write(record(i++));
          return predictions.written > 0;
        },
        "a record written after the silent COPY",
        30_000,
      );
      assert.equal(predictions.dropped, 100, "the batch of the abandoned COPY");
      assert.equal(captured.messages(LOST).length, 1);
      assert.match(String(captured.lines.find((l) => String(l.msg).startsWith(LOST))!.error), /COPY took over 1000 ms/);
      assert.equal(captured.messages(BACK).length, 1);
      await hold.release();
    } finally {
      await predictions.close(0);
      await admin.close(0);
    }
  },
});

Deno.test({
  name: "PredictionLog.close: within its bound whatever Postgres does, the rows given up counted and logged",
  ignore: !CAN_START_POSTGRES,
  async fn(t) {
    await using pg = await startPostgres();
    const cases: { name: string; setUp(predictions: PredictionLog): Promise<() => Promise<void>> }[] = [
      {
        name: "Postgres down",
        async setUp() {
          await pg.stop();
          return () => pg.start();
        },
      },
      {
        name: "a COPY that never finishes",
        async setUp(predictions) {
          const admin = await connectPostgres(pg.url);
          const hold = await holdInserts(admin, "logged");
          await hold.on();
          predictions.write(record(-1));
          await hold.reached();
          return async () => {
            await hold.release();
            await admin.sql.unsafe("drop trigger score_hold on logged");
            await admin.close();
          };
        },
      },
    ];
    for (const c of cases) {
      await t.step(c.name, async () => {
        using captured = captureLog();
        const predictions = await PredictionLog.open(`${pg.url}/logged`, { flushMs: 10 });
        const tearDown = await c.setUp(predictions);
        try {
          for (let i = 0; i < 500; i++) predictions.write(record(i));
          const dropped = predictions.dropped;
          const started = performance.now();
          await predictions.close(1_000);
          const ms = performance.now() - started;
          assert.ok(ms < 3_000, `closed in ${Math.round(ms)} ms`);
          const [gaveUp] = captured.lines.filter((l) => l.msg === "prediction log: gave up flushing on close");
          assert.ok(gaveUp, "the close says it gave up");
          assert.equal(gaveUp.gave_up, predictions.dropped - dropped);
          assert.ok((gaveUp.gave_up as number) >= 500, `gave up ${gaveUp.gave_up}`);
          assert.equal(predictions.buffered, 0);
        } finally {
          await tearDown();
        }
      });
    }
  },
});
