/**
 * Pins what score relies on inside postgres.js (see
 * src/postgres/postgres_js_internals.ts), against the real Postgres: an
 * upgrade that moves it fails here.
 */
import assert from "node:assert/strict";
import { onLateQueryError, reserveConnection } from "../../src/postgres/postgres_js_internals.ts";
import { withDb } from "./helpers.ts";

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
  });
});
