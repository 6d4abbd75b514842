import assert from "node:assert/strict";
import { PgTransaction } from "../../src/postgres/pg_transaction.ts";
import type { ColumnInfo, RowBatch } from "../../src/rows.ts";
import { createPostgresSink } from "../../src/sinks/postgres_sink.ts";
import { rejection } from "../helpers.ts";
import { PG_URL, withDb } from "./helpers.ts";

const COLUMNS: ColumnInfo[] = [{ name: "id", type: "int64" }, { name: "note", type: "string" }];

function batch(ids: number[], note = "x"): RowBatch {
  return { offset: 0, length: ids.length, columns: { id: ids.map(BigInt), note: ids.map(() => note) } };
}

Deno.test("PgTransaction", async (t) => {
  await withDb(["tx_a", "tx_b"], async ({ sql }, [a, b]) => {
    await sql.unsafe(`create table "${a}" (id bigint, note text)`);
    await sql.unsafe(`create table "${b}" (id bigint, note text)`);
    const count = async (table: string) => (await sql.unsafe(`select count(*)::int as n from "${table}"`))[0].n;

    await t.step("writes to two tables interleaved, with statements between, in one transaction", async () => {
      const tx = new PgTransaction(PG_URL);
      await tx.write(a, COLUMNS, batch([1, 2]));
      await tx.write(b, COLUMNS, batch([10]));
      await tx.write(a, COLUMNS, batch([3]));
      await tx.execute(`delete from "${a}" where id = $1`, [2]);
      await tx.write(a, COLUMNS, batch([4, 5]));
      assert.deepEqual([await count(a), await count(b)], [0, 0], "nothing visible before commit");
      await tx.commit();
      assert.deepEqual([await count(a), await count(b)], [4, 1]);
      await tx.commit(); // a second commit (the other sharing sink) does nothing
      await tx.rollback(); // nor does a rollback after commit
      assert.deepEqual([await count(a), await count(b)], [4, 1]);
    });

    await t.step("a rollback leaves nothing, and a commit after it fails", async () => {
      const tx = new PgTransaction(PG_URL);
      await tx.write(a, COLUMNS, batch([100]));
      await tx.write(b, COLUMNS, batch([100]));
      await tx.rollback();
      assert.deepEqual([await count(a), await count(b)], [4, 1]);
      const err = await rejection(() => tx.commit());
      assert.match(err.message, /commit after it was rolled back/);
    });

    await t.step("two sinks sharing it: predictions and rejects appear together at the first commit", async () => {
      const tx = new PgTransaction(PG_URL);
      const predictions = createPostgresSink({ url: PG_URL, table: a, transaction: tx });
      const rejects = createPostgresSink({ url: PG_URL, table: b, transaction: tx });
      await predictions.open(COLUMNS);
      await rejects.open(COLUMNS);
      await predictions.write(batch([200, 201], "prediction"));
      await rejects.write(batch([202], "reject"));
      await predictions.write(batch([203], "prediction"));
      assert.deepEqual([await count(a), await count(b)], [4, 1]);
      await predictions.commit();
      assert.deepEqual([await count(a), await count(b)], [7, 2]);
      await rejects.commit();
      assert.deepEqual([await count(a), await count(b)], [7, 2]);
    });

    await t.step("an aborted sharing sink takes the other's rows with it", async () => {
      const tx = new PgTransaction(PG_URL);
      const predictions = createPostgresSink({ url: PG_URL, table: a, transaction: tx });
      const rejects = createPostgresSink({ url: PG_URL, table: b, transaction: tx });
      await predictions.open(COLUMNS);
      await rejects.open(COLUMNS);
      await predictions.write(batch([300]));
      await rejects.write(batch([301]));
      await rejects.abort();
      await predictions.abort();
      assert.deepEqual([await count(a), await count(b)], [7, 2]);
    });
  });
});
