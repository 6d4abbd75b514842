/**
 * Pins what score relies on inside postgres.js (see
 * src/postgres/postgres_js_internals.ts), against the real Postgres: an
 * upgrade that moves it fails here.
 */
import assert from "node:assert/strict";
import { connect as netConnect, type Socket } from "node:net";
import postgres from "postgres";
import { connectPostgres, type PgConnection } from "../../src/postgres/connect.ts";
import {
  checkedCursor,
  ignoreUnawaitedLosses,
  onLateQueryError,
  reserveConnection,
} from "../../src/postgres/postgres_js_internals.ts";
import { randomName, waitUntil } from "../helpers.ts";
import { PG_URL, withDb } from "./helpers.ts";

/** A connection of its own (its backend found by application name) and a way to end that backend. */
async function ownConnection(admin: PgConnection): Promise<{ conn: PgConnection; end(): Promise<void> }> {
  const name = randomName("pin");
  const conn = await connectPostgres(PG_URL, { applicationName: name });
  let gone = false;
  conn.onLoss(() => gone = true);
  return {
    conn,
    // Ends our own session only (never the shared server), then waits until the client has seen its socket close.
    async end() {
      await admin.sql.unsafe("select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1", [
        name,
      ]);
      await waitUntil(() => gone, "the client to see its connection closed");
    },
  };
}

const ROWS_QUERY = "select g from generate_series(1, 100) g";

Deno.test("postgres.js internals score relies on", async (t) => {
  await withDb(["pin_copy"], async (pg, [table]) => {
    await pg.sql.unsafe(`create table ${table} (a int)`);

    await t.step("an error after a COPY started reaches the hooked reject", async () => {
      const query = pg.sql.unsafe(`copy ${table} (a) from stdin`);
      const stream = await query.writable();
      const seen = Promise.withResolvers<unknown>();
      onLateQueryError(query, seen.resolve);
      stream.on("error", () => {});
      stream.end("not a number\n");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const err = await Promise.race([
        seen.promise,
        new Promise((_, reject) => timer = setTimeout(() => reject(new Error("no error within 10 s")), 10_000)),
      ]).finally(() => clearTimeout(timer));
      assert.match(String((err as Error).message), /invalid input syntax for type integer/);
    });

    await t.step("a reserved connection keeps one session and can be released", async () => {
      const tx = await reserveConnection(pg.sql);
      await tx.unsafe("set application_name = 'pinned'");
      const [row] = await tx.unsafe("select current_setting('application_name') as name");
      assert.equal(row.name, "pinned");
      assert.equal(typeof tx.release, "function");
      tx.release();
    });

    await t.step("a cursor read to its end ends (the server's CommandComplete), in batches", async () => {
      const rows = checkedCursor<unknown[]>(pg.sql.unsafe(ROWS_QUERY).values(), 30);
      const sizes: number[] = [];
      for (let r = await rows.next(); !r.done; r = await rows.next()) sizes.push(r.value.length);
      assert.deepEqual(sizes, [30, 30, 30, 10]);
    });

    await t.step(
      "a connection lost between two reads: postgres.js's cursor says done, checkedCursor fails",
      async () => {
        // postgres.js's own cursor: the loss rejects a promise nobody awaits, and the next read says "done". If this
        // step fails, postgres.js tells the two apart itself and checkedCursor may go.
        const plain = await ownConnection(pg);
        try {
          const rows = (plain.conn.sql.unsafe(ROWS_QUERY).values().cursor(30) as AsyncIterable<unknown[][]>)
            [Symbol.asyncIterator]();
          assert.equal((await rows.next()).value?.length, 30);
          await plain.end();
          assert.deepEqual(await rows.next(), { done: true });
        } finally {
          await plain.conn.close(0);
        }
        const checked = await ownConnection(pg);
        try {
          const rows = checkedCursor<unknown[]>(checked.conn.sql.unsafe(ROWS_QUERY).values(), 30);
          assert.equal((await rows.next()).value?.length, 30);
          await checked.end();
          await assert.rejects(rows.next(), (err: Error & { code?: string }) => {
            assert.match(String(err.code), /^(CONNECTION_CLOSED|ECONNRESET|EPIPE|57P01)$/, String(err));
            return true;
          });
          // Closing a cursor whose connection is gone sends nothing (postgres.js would write on no socket).
          await rows.return!();
        } finally {
          await checked.conn.close(0);
        }
      },
    );

    await t.step("a connection lost while it fetches the array types: an unhandled rejection, ignored", async () => {
      const ignored: Error[] = [];
      const stop = ignoreUnawaitedLosses((err) => ignored.push(err));
      const target = new URL(PG_URL);
      let sockets = 0;
      // The first socket breaks when postgres.js asks for the array types, after the connection started.
      const socket = () =>
        new Promise<Socket>((resolve, reject) => {
          const s = netConnect({ host: target.hostname, port: Number(target.port) });
          if (sockets++ === 0) {
            const write = s.write.bind(s) as (...args: unknown[]) => boolean;
            s.write = ((chunk: unknown, ...rest: unknown[]) => {
              if (String(chunk).includes("typarray")) {
                s.destroy(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }));
                return false;
              }
              return write(chunk, ...rest);
            }) as typeof s.write;
          }
          s.once("connect", () => resolve(s));
          s.once("error", reject);
        });
      const sql = postgres({
        database: target.pathname.slice(1),
        username: "postgres",
        max: 1,
        onnotice: () => {},
        socket,
      } as never);
      try {
        await assert.rejects(sql`select 1`, /ECONNRESET/);
        await waitUntil(() => ignored.length > 0, "the types fetch's rejection");
        assert.match(String((ignored[0] as Error & { query?: string }).query), /typarray/);
      } finally {
        stop();
        await sql.end({ timeout: 0 });
      }
    });
  });
});

Deno.test("postgres.js arrays: a NULL element reads as null once nullableArrays has run", async (t) => {
  const query = "select '{a,\"b,c\",NULL,\"NULL\"}'::text[] as t, '{1,NULL}'::int4[] as i, " +
    "'{{1,2},{3,NULL}}'::int8[] as n, '{2021-02-01 10:00:00,NULL}'::timestamp[] as ts";
  await t.step("postgres.js alone reads NULL as its text: the reason for nullableArrays", async () => {
    const sql = postgres(PG_URL, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql.unsafe(query);
      assert.deepEqual(row.t, ["a", "b,c", "NULL", "NULL"]);
    } finally {
      await sql.end();
    }
  });
  await t.step("through connectPostgres: null, and the elements parsed as their type", async () => {
    const pg = await connectPostgres(PG_URL);
    try {
      const [row] = await pg.sql.unsafe(query);
      assert.deepEqual(row.t, ["a", "b,c", null, "NULL"]);
      assert.deepEqual(row.i, [1, null]);
      assert.deepEqual(row.n, [[1n, 2n], [3n, null]]);
      assert.deepEqual(row.ts, [new Date("2021-02-01T10:00:00Z"), null]);
    } finally {
      await pg.close();
    }
  });
});
