import assert from "node:assert/strict";
import { openPostgresSource } from "../../src/sources/postgres_source.ts";
import type { RowBatch } from "../../src/rows.ts";
import { rejection } from "../helpers.ts";
import { PG_URL, withDb } from "../postgres/helpers.ts";

async function readAll(source: Awaited<ReturnType<typeof openPostgresSource>>, batchSize = 1000, columns?: string[]) {
  const batches: RowBatch[] = [];
  try {
    for await (const b of source.batches({ batchSize, columns })) batches.push(b);
  } finally {
    await source.close();
  }
  return batches;
}

function column(batches: RowBatch[], name: string): unknown[] {
  return batches.flatMap((b) => Array.from(b.columns[name]));
}

Deno.test("postgres source: column types from the query's description, values as their types", async () => {
  await withDb(["src_types"], async ({ sql }, [table]) => {
    await sql.unsafe(`create table ${table} (
      id bigint, n integer, f double precision, amount numeric(10,2), code varchar(12), ts timestamp, tstz timestamptz,
      d date, doc jsonb, ok boolean, tags text[])`);
    await sql.unsafe(`insert into ${table} values
      (9007199254740993, 7, 1.5, 12.30, 'ab', '2021-02-01 00:15:00', '2021-02-01 00:15:00+02', '2021-02-01', '{"a":1}', true, '{x,y}'),
      (null, null, null, null, null, null, null, null, null, null, null)`);
    const source = await openPostgresSource({ url: PG_URL, table });
    assert.deepEqual(source.columns, [
      { name: "id", type: "int64", dbType: "bigint" },
      { name: "n", type: "int32", dbType: "integer" },
      { name: "f", type: "float64", dbType: "double precision" },
      { name: "amount", type: "string", dbType: "numeric(10,2)" },
      { name: "code", type: "string", dbType: "character varying(12)" },
      { name: "ts", type: "timestamp", dbType: "timestamp without time zone" },
      { name: "tstz", type: "timestamptz", dbType: "timestamp with time zone" },
      { name: "d", type: "date", dbType: "date" },
      { name: "doc", type: "json", dbType: "jsonb" },
      { name: "ok", type: "bool", dbType: "boolean" },
      { name: "tags", type: "json", dbType: "text[]" },
    ]);
    assert.match(source.description, /^postgres:\/\/postgres@127\.0\.0\.1:5432\/test table src_types_/);
    const [b] = await readAll(source);
    const row = Object.fromEntries(Object.entries(b.columns).map(([k, v]) => [k, v[0]]));
    assert.equal(row.id, 9007199254740993n);
    assert.equal(row.n, 7);
    assert.equal(row.f, 1.5);
    assert.equal(row.amount, "12.30");
    assert.equal((row.ts as Date).toISOString(), "2021-02-01T00:15:00.000Z");
    assert.equal((row.tstz as Date).toISOString(), "2021-01-31T22:15:00.000Z");
    assert.deepEqual(row.doc, { a: 1 });
    assert.deepEqual(row.tags, ["x", "y"]);
    assert.deepEqual(Object.values(b.columns).map((v) => v[1]), new Array(11).fill(null));
  });
});

Deno.test("postgres source: timestamps keep microseconds, infinity and years before 1 (as text where a Date cannot)", async () => {
  await withDb(["src_micros"], async ({ sql }, [table]) => {
    await sql.unsafe(`create table ${table} (id int, ts timestamp, tstz timestamptz, d date)`);
    await sql.unsafe(`insert into ${table} values
      (1, '2021-02-01 10:00:00.123456', '2021-02-01 10:00:00.654321+00', '2021-02-01'),
      (2, '2021-02-01 10:00:00.5', '2021-02-01 12:00:00+02', 'infinity'),
      (3, 'infinity', '-infinity', '0044-03-15 BC'),
      (4, '0044-03-15 10:00:00 BC', null, null)`);
    const [batch] = await readAll(
      await openPostgresSource({ url: PG_URL, query: `select * from ${table} order by id` }),
    );
    assert.deepEqual(Array.from(batch.columns.ts), [
      "2021-02-01T10:00:00.123456",
      new Date("2021-02-01T10:00:00.5Z"),
      "infinity",
      "0044-03-15 10:00:00 BC",
    ]);
    assert.deepEqual(Array.from(batch.columns.tstz), [
      "2021-02-01T10:00:00.654321Z",
      new Date("2021-02-01T10:00:00Z"),
      "-infinity",
      null,
    ]);
    assert.deepEqual(Array.from(batch.columns.d), [
      new Date("2021-02-01T00:00:00Z"),
      "infinity",
      "0044-03-15 BC",
      null,
    ]);
  });
});

Deno.test("postgres source: json and jsonb keep integers beyond 2^53 exact", async () => {
  await withDb(["src_json"], async ({ sql }, [table]) => {
    await sql.unsafe(`create table ${table} (j json, b jsonb)`);
    const doc = '{"order_id": 12345678901234567890, "n": 9007199254740993, "price": 10.1, "small": 7}';
    await sql.unsafe(`insert into ${table} values ('${doc}', '${doc}')`);
    const [batch] = await readAll(await openPostgresSource({ url: PG_URL, table }));
    const want = { order_id: 12345678901234567890n, n: 9007199254740993n, price: 10.1, small: 7 };
    assert.deepEqual(batch.columns.j[0], want);
    assert.deepEqual(batch.columns.b[0], want);
  });
});

Deno.test("postgres source: a cursor reads batches of at most batchSize, only the columns asked for", async () => {
  await withDb(["src_cursor"], async ({ sql }, [table]) => {
    await sql.unsafe(
      `create table ${table} as select g as id, g * 0.5 as half, 'x' || g as name from generate_series(1, 25) g`,
    );
    const source = await openPostgresSource({ url: PG_URL, query: `select * from ${table} order by id;` });
    const batches = await readAll(source, 10, ["name", "id"]);
    assert.deepEqual(batches.map((b) => [b.offset, b.length]), [[0, 10], [10, 10], [20, 5]]);
    assert.deepEqual(Object.keys(batches[0].columns), ["name", "id"]);
    assert.deepEqual(column(batches, "id"), Array.from({ length: 25 }, (_, i) => i + 1));
  });
});

Deno.test("postgres source: parameters are bound in $n order, never pasted", async (t) => {
  await withDb(["src_params"], async ({ sql }, [table]) => {
    await sql.unsafe(`create table ${table} (id int, t timestamp, tag text)`);
    await sql.unsafe(`insert into ${table} values (1, '2021-01-31 23:59:59', 'a'), (2, '2021-02-01 00:00:00', 'a'),
      (3, '2021-02-28 23:59:59', 'b'), (4, '2021-03-01 00:00:00', 'a'), (5, '2021-02-10', $$x'; drop table ${table}; --$$)`);
    const window = ["2021-02-01T00:00:00.000Z", "2021-03-01T00:00:00.000Z"];
    await t.step("window as $1, $2 and a --param as $3", async () => {
      const source = await openPostgresSource({
        url: PG_URL,
        query: `select * from ${table} where t >= $1 and t < $2 and tag <> $3 order by id`,
        params: [...window, "b"],
      });
      assert.deepEqual(column(await readAll(source), "id"), [2, 5]);
    });
    await t.step("a value that looks like SQL is only a value", async () => {
      const source = await openPostgresSource({
        url: PG_URL,
        query: `select id from ${table} where tag = $1`,
        params: [`x'; drop table ${table}; --`],
      });
      assert.deepEqual(column(await readAll(source), "id"), [5]);
      const [{ n }] = await sql.unsafe(`select count(*)::int as n from ${table}`);
      assert.equal(n, 5);
    });
    await t.step("--table with a time column reads [start, end)", async () => {
      const source = await openPostgresSource({ url: PG_URL, table, timeColumn: "t", params: window });
      assert.deepEqual(column(await readAll(source), "id").sort(), [2, 3, 5]);
    });
    await t.step("too few values for the query's placeholders is a usage error", async () => {
      const err = await rejection(() =>
        openPostgresSource({
          url: PG_URL,
          query: `select * from ${table} where t >= $1 and t < $2 and id > $3`,
          params: window,
          labels: { params: "(with --period: $1 window_start, $2 window_end, then each --param in order)" },
        })
      );
      assert.equal(err.name, "UsageError");
      assert.match(
        err.message,
        /The query uses \$3 but 2 values are given \(with --period: \$1 window_start, \$2 window_end, then each --param/,
      );
    });
  });
});

Deno.test("postgres source: shards K/N split the rows with no overlap and no gap", async () => {
  await withDb(["src_shard"], async ({ sql }, [table]) => {
    await sql.unsafe(
      `create table ${table} as select g as id, case when g % 97 = 0 then null else 'ride-' || g end as ride_id
      from generate_series(1, 3000) g`,
    );
    const seen: number[][] = [];
    for (let k = 1; k <= 3; k++) {
      const source = await openPostgresSource({ url: PG_URL, table, shard: { index: k, count: 3, key: "ride_id" } });
      assert.match(source.description, new RegExp(`shard ${k}/3$`));
      seen.push(column(await readAll(source), "id") as number[]);
    }
    for (const ids of seen) {
      assert.ok(
        ids.length > 800 && ids.length < 1200,
        `shard sizes are even: ${seen.map((s) => s.length)}`,
      );
    }
    const all = seen.flat().sort((a, b) => a - b);
    assert.deepEqual(all, Array.from({ length: 3000 }, (_, i) => i + 1), "every row exactly once, NULL keys included");
  });
});

Deno.test("postgres source: clear errors", async (t) => {
  await t.step("missing table: NotFoundError naming it and the database", async () => {
    const err = await rejection(() => openPostgresSource({ url: PG_URL, table: "no_such_table_score" }));
    assert.equal(err.name, "NotFoundError");
    assert.equal(err.exitCode, 66);
    assert.match(
      err.message,
      /relation "no_such_table_score" does not exist in Postgres at 127\.0\.0\.1:5432, database "test"/i,
    );
  });
  await t.step("SQL error: UsageError with Postgres's message", async () => {
    const err = await rejection(() => openPostgresSource({ url: PG_URL, query: "selec 1" }));
    assert.equal(err.name, "UsageError");
    assert.match(err.message, /syntax error at or near "selec"/i);
  });
  await t.step("a shard key that is not a column", async () => {
    const err = await rejection(() =>
      openPostgresSource({ url: PG_URL, query: "select 1 as a", shard: { index: 1, count: 2, key: "nope" } })
    );
    assert.equal(err.name, "UsageError");
    assert.match(err.message, /column q\.nope does not exist/i);
  });
  await t.step("a table name that would break out of quoting", async () => {
    const err = await rejection(() => openPostgresSource({ url: PG_URL, table: 'x"; drop table y; --' }));
    assert.equal(err.name, "UsageError");
    assert.match(err.message, /is refused: it holds a double quote/);
  });
  await t.step("both --query and --table", async () => {
    const err = await rejection(() =>
      openPostgresSource({
        url: PG_URL,
        table: "a",
        query: "select 1",
        labels: { query: "--query", table: "--table" },
      })
    );
    assert.match(err.message, /exactly one of --query SQL and --table NAME/);
  });
});
