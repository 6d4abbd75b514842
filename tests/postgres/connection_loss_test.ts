/**
 * A Postgres that restarts under a transaction, a COPY or the prediction
 * log, on a private server: every wait ends within seconds with an
 * unavailable error (exit 69), nothing is half committed, and the process
 * neither hangs nor crashes.
 */
import assert from "node:assert/strict";
import { describeError } from "../../src/errors.ts";
import { connectPostgres, type PgConnection } from "../../src/postgres/connect.ts";
import { pgError } from "../../src/postgres/pg_error.ts";
import { PgTransaction } from "../../src/postgres/pg_transaction.ts";
import type { ColumnInfo, RowBatch } from "../../src/rows.ts";
import { PredictionLog } from "../../src/serving/prediction_log.ts";
import { waitUntil } from "../helpers.ts";
import { CAN_START_POSTGRES, holdInserts, type PrivatePostgres, startPostgres } from "./private_postgres.ts";

const COLUMNS: ColumnInfo[] = [{ name: "a", type: "float64" }, { name: "b", type: "string" }];

function rows(n: number, label: string): RowBatch {
  return {
    offset: 0,
    length: n,
    columns: { a: Array.from({ length: n }, (_, i) => i), b: Array.from({ length: n }, () => label) },
  };
}

/** Resolves with how long `work` took to settle, failing the test past `limitMs`. */
async function settlesWithin(limitMs: number, work: Promise<unknown>): Promise<{ ms: number; error?: unknown }> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), limitMs));
  const outcome = await Promise.race([work.then(() => ({}), (error) => ({ error })), late]);
  clearTimeout(timer);
  assert.notEqual(outcome, "late", `still pending after ${limitMs} ms`);
  return { ms: performance.now() - started, ...(outcome as { error?: unknown }) };
}

/** `error`, as the sinks report it, is an unavailable Postgres (exit 69) named by host and port. */
function assertUnavailable(error: unknown) {
  assert.ok(error, "it failed");
  const failure = describeError(pgError(error, { host: "127.0.0.1", port: 0, database: "postgres", user: "postgres" }));
  assert.equal(failure.exitCode, 69, `exit 69 for: ${failure.message}`);
  assert.match(failure.message, /Postgres at 127\.0\.0\.1:\d+.*(connection|terminat)/);
}

async function count(admin: PgConnection, table: string, where = "true"): Promise<number> {
  const [{ n }] = await admin.sql.unsafe(`select count(*)::int as n from ${table} where ${where}`);
  return n as number;
}

Deno.test({
  name: "PgTransaction: a Postgres restart fails the transaction within seconds and commits nothing",
  ignore: !CAN_START_POSTGRES,
  async fn(t) {
    await using pg = await startPostgres();
    const admin = await connectPostgres(pg.url, { retries: 8 });
    // The admin pool reconnects on its next query once the server is back.
    const reconnect = () =>
      waitUntil(() => admin.sql`select 1`.then(() => true, () => false), "the admin connection back", 30_000);
    try {
      await admin.sql.unsafe("create table t (a float8, b text)");
      await admin.sql.unsafe("insert into t select g, 'old' from generate_series(1, 10) g");
      const hold = await holdInserts(admin, "t");

      const cases: { name: string; run(tx: PgTransaction, pg: PrivatePostgres): Promise<unknown> }[] = [
        {
          name: "during the COPY (the server is taking its rows)",
          async run(tx) {
            await tx.execute("delete from t");
            // On before the rows go: the server may take them as soon as they are written, before a later `on`.
            await hold.on();
            await tx.write("t", COLUMNS, rows(1000, "new"));
            const commit = tx.commit();
            commit.catch(() => {});
            await hold.reached();
            await hold.off();
            await pg.restart();
            return commit;
          },
        },
        {
          name: "between the delete and the next statement",
          async run(tx) {
            await tx.execute("delete from t");
            await pg.restart();
            return tx.execute("delete from t where a = 1");
          },
        },
        {
          name: "after the rows were written, before the commit",
          async run(tx) {
            await tx.execute("delete from t");
            await tx.write("t", COLUMNS, rows(1000, "new"));
            await pg.restart();
            return tx.commit();
          },
        },
      ];
      for (const c of cases) {
        await t.step(c.name, async () => {
          const tx = new PgTransaction(pg.url);
          // The bound takes in the restart itself: its shutdown checkpoint took over 15 s once on a loaded disk.
          const { error } = await settlesWithin(60_000, c.run(tx, pg));
          assertUnavailable(error);
          await settlesWithin(3_000, tx.rollback());
          await assert.rejects(tx.commit(), /rolled back/);
          await reconnect();
          assert.equal(await count(admin, "t", "b = 'old'"), 10, "the delete was rolled back");
          assert.equal(await count(admin, "t", "b = 'new'"), 0, "no new row was committed");
        });
      }
    } finally {
      await admin.close(0);
    }
  },
});

Deno.test({
  name: "PredictionLog: a Postgres restart in the middle of a COPY drops that batch and the log goes on",
  ignore: !CAN_START_POSTGRES,
  async fn() {
    await using pg = await startPostgres();
    const admin = await connectPostgres(pg.url);
    let predictions: PredictionLog | undefined;
    try {
      predictions = await PredictionLog.open(`${pg.url}/logged`, { flushMs: 10 });
      const hold = await holdInserts(admin, "logged");
      await hold.on();
      const record = (i: number) => ({
        time: new Date(),
        requestId: `r${i}`,
        model: "m",
        modelVersion: "1",
        features: { i },
        outputs: { y: i },
      });
      for (let i = 0; i < 100; i++) predictions.write(record(i));
      await hold.reached();
      await hold.off();
      await pg.restart();
      // Records that come after the restart are written: the log was not left waiting on the lost COPY.
      // One goes in at every look (a COPY the pool tries on a stale connection drops its records too).
      let i = 100;
      await waitUntil(
        () => {
          predictions!.write(record(i++));
          return predictions!.written > 0;
        },
        `a record written after the restart (dropped ${predictions.dropped})`,
        30_000,
      );
      assert.ok(predictions.dropped >= 100, "the batch of the lost COPY is counted as dropped");
      await settlesWithin(10_000, predictions.close());
    } finally {
      await admin.close(0);
    }
  },
});

Deno.test({
  name: "connectPostgres: a pool whose reconnect was refused connects again once the server is back",
  ignore: !CAN_START_POSTGRES,
  async fn() {
    await using pg = await startPostgres();
    const conn = await connectPostgres(pg.url);
    try {
      await pg.stop();
      // postgres.js reconnects on the next query; refused, the query fails at once...
      const { error } = await settlesWithin(10_000, conn.sql`select 1`);
      assertUnavailable(error);
      await pg.start();
      // ...and the pool is not left "connecting" for good (a socket factory that rejected left it so).
      const { error: after } = await settlesWithin(10_000, conn.sql`select 1`);
      assert.equal(after, undefined);
    } finally {
      await conn.close(0);
    }
  },
});
