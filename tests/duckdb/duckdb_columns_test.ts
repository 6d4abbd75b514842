import assert from "node:assert/strict";
import { appendColumns, type ColumnType, streamColumns } from "../../src/duckdb/duckdb_columns.ts";
import { openDuckDB, sqlString } from "../../src/duckdb/duckdb.ts";
import { isTextBytes, type TextBytes, textOf } from "../../src/text_bytes.ts";

async function collect(db: Awaited<ReturnType<typeof openDuckDB>>, sql: string) {
  const chunks = [];
  for await (const c of streamColumns(db.connection, sql)) chunks.push(c);
  return chunks;
}

Deno.test("DuckDB adapter: results come out as typed arrays", async (t) => {
  const db = await openDuckDB({ threads: 1 });
  try {
    await t.step("numeric columns without nulls are typed arrays, copied out of the chunk", async () => {
      const [chunk] = await collect(db, "select 1.5::DOUBLE as d, 7::BIGINT as b, 3::INTEGER as i, 2::FLOAT as f");
      assert.equal(chunk.length, 1);
      assert.deepEqual(chunk.columns.map((c) => c.constructor.name), [
        "Float64Array",
        "BigInt64Array",
        "Int32Array",
        "Float32Array",
      ]);
      assert.deepEqual(chunk.columns.map((c) => c[0]), [1.5, 7n, 3, 2]);
    });
    await t.step("a null in a numeric chunk gives a plain array with null there", async () => {
      const chunks = await collect(db, "select case when i % 100 = 99 then null else i end as x from range(5000) t(i)");
      assert.deepEqual(chunks.map((c) => c.length), [2048, 2048, 904]);
      assert.ok(Array.isArray(chunks[0].columns[0]));
      assert.equal(chunks[0].columns[0][99], null);
      assert.equal(chunks[0].columns[0][100], 100n);
    });
    await t.step("64 valid rows in a row (a full mask word) and a null after them", async () => {
      const [chunk] = await collect(
        db,
        "select case when i = 64 then null else i::DOUBLE end as x from range(70) t(i)",
      );
      assert.equal((chunk.columns[0] as unknown[])[63], 63);
      assert.equal((chunk.columns[0] as unknown[])[64], null);
    });
    await t.step("strings, booleans and their nulls", async () => {
      const [chunk] = await collect(
        db,
        "select * from (values ('a', true), (null, null), ('a longer string than twelve', false))",
      );
      assert.deepEqual(chunk.columns, [["a", null, "a longer string than twelve"], [true, null, false]]);
    });
    await t.step("short, empty, non-ASCII, twelve-byte, longer and null strings side by side, in order", async () => {
      // Short ASCII strings are decoded together and cut apart; the others one by one, between them.
      const texts = ["", "7", "héllo", "abcdefghijkl", "abcdefghijklm", null, "日本", "x,y", "€uro text that is long"];
      const values = Array.from({ length: 5000 }, (_, i) => texts[i % texts.length]);
      const sql = `select v from (values ${
        values.map((v, i) => `(${i}, ${v === null ? "null" : sqlString(v)})`).join(", ")
      }) t(i, v) order by i`;
      const got = (await collect(db, sql)).flatMap((chunk) => Array.from(chunk.columns[0]));
      assert.deepEqual(got, values);
      // As bytes (what the reader worker sends), the same texts once decoded.
      const chunks = await Array.fromAsync(streamColumns(db.connection, sql, { textBytes: true }));
      const column = chunks[0].columns[0];
      assert.ok(isTextBytes(column));
      assert.deepEqual(chunks.flatMap((chunk) => textOf(chunk.columns[0] as TextBytes)), values);
    });
    await t.step("a text column of nulls only, and one valid value at a chunk's last row", async () => {
      // 2,051 rows: a full chunk and one of 3 rows (a mask whose last byte is partly used).
      const chunks = await collect(
        db,
        "select null::VARCHAR as none, case when range in (2047, 2050) then 'x' end as last, " +
          "case when range = 2047 then null else range end as n from range(2051)",
      );
      assert.deepEqual(chunks.map((c) => c.length), [2048, 3]);
      for (const [k, chunk] of chunks.entries()) {
        const [none, last, n] = chunk.columns as unknown[][];
        assert.ok(none.every((v) => v === null));
        assert.deepEqual(last.flatMap((v, i) => (v === null ? [] : [i])), [chunk.length - 1]);
        assert.equal(n.filter((v) => v === null).length, k === 0 ? 1 : 0);
      }
      assert.ok(chunks[1].columns[2] instanceof BigInt64Array);
    });
  } finally {
    await db.close();
  }
});

Deno.test("DuckDB adapter: columns go into an appender whole", async (t) => {
  const n = 5000;
  const cases: {
    name: string;
    table: string;
    types: ColumnType[];
    columns: ArrayLike<unknown>[];
    check: string;
    want: Record<string, unknown>;
  }[] = [
    {
      name: "typed arrays as they are, plain arrays value by value, nulls and all",
      table: "d DOUBLE, b BIGINT, i INTEGER, s VARCHAR, f BOOLEAN",
      types: ["DOUBLE", "BIGINT", "INTEGER", "VARCHAR", "BOOLEAN"],
      columns: [
        Float64Array.from({ length: n }, (_, i) => i / 4),
        BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * 1_000_000_000_000n),
        Int32Array.from({ length: n }, (_, i) => -i),
        Array.from({ length: n }, (_, i) => (i % 3 === 0 ? null : `s${i}`)),
        Array.from({ length: n }, (_, i) => (i % 5 === 0 ? null : i % 2 === 0)),
      ],
      check: "sum(d) as d, sum(b)::VARCHAR as b, sum(i)::INTEGER as i, count(s)::INTEGER as s, " +
        "count(f)::INTEGER as f, max(s) as m",
      want: {
        d: (n * (n - 1)) / 2 / 4,
        b: String((BigInt(n) * BigInt(n - 1)) / 2n * 1_000_000_000_000n),
        i: -(n * (n - 1)) / 2,
        s: n - Math.ceil(n / 3),
        f: n - n / 5,
        m: "s998",
      },
    },
    {
      // The chunk is reused: the first rows' nulls must not stay for the next ones.
      name: "nulls in the first 2,048-row chunk only",
      table: "i BIGINT, s VARCHAR",
      types: ["BIGINT", "VARCHAR"],
      columns: [
        BigInt64Array.from({ length: n }, (_, k) => BigInt(k)),
        Array.from({ length: n }, (_, k) => (k < 2048 && k % 2 === 0 ? null : `v${k}`)),
      ],
      check: "count(s)::INTEGER as s, sum(i)::VARCHAR as i, " +
        "count(*) filter (where s is null and i >= 2048)::INTEGER as late",
      want: { s: n - 1024, i: String((n * (n - 1)) / 2), late: 0 },
    },
    {
      // Text without a null goes straight into the vector, text with one through the vector object: both, in turn.
      name: "text chunks without nulls, then with, then without again: every value in its row",
      table: "i BIGINT, s VARCHAR",
      types: ["BIGINT", "VARCHAR"],
      columns: [
        BigInt64Array.from({ length: n }, (_, k) => BigInt(k)),
        Array.from(
          { length: n },
          (_, k) => (k >= 2048 && k < 4096 && k % 2 === 0 ? null : `v${k}${k % 7 === 0 ? "é".repeat(20) : ""}`),
        ),
      ],
      check: "count(*) filter (where s is distinct from (case when i between 2048 and 4095 and i % 2 = 0 then null " +
        "else 'v' || i || case when i % 7 = 0 then repeat('é', 20) else '' end end))::INTEGER as wrong",
      want: { wrong: 0 },
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const db = await openDuckDB({ threads: 1 });
      try {
        await db.connection.run(`create table t (${c.table})`);
        const appender = await db.connection.createAppender("t");
        appendColumns(appender, c.types, c.columns, n);
        appender.closeSync();
        const back = await db.connection.runAndReadAll(`select count(*)::INTEGER as n, ${c.check} from t`);
        assert.deepEqual(back.getRowObjectsJS()[0], { n, ...c.want });
      } finally {
        await db.close();
      }
    });
  }
});

Deno.test("DuckDB adapter: a column shorter than the rows asked for is refused, not read past", async () => {
  const db = await openDuckDB({ threads: 1 });
  try {
    await db.connection.run("create table t (d DOUBLE)");
    const appender = await db.connection.createAppender("t");
    assert.throws(
      () => appendColumns(appender, ["DOUBLE"], [new Float64Array(4)], 3000),
      /Column 0 holds 4 values, not 3000/,
    );
    appender.closeSync();
  } finally {
    await db.close();
  }
});

Deno.test("DuckDB adapter: the binding's vector calls behave as it relies on", async () => {
  // If an upgrade changes these, the adapter reads or writes the wrong memory: this fails first.
  const duckdb =
    (await import("@duckdb/node-bindings") as unknown as { default: typeof import("@duckdb/node-bindings") })
      .default;
  const { BIGINT, DOUBLE, DuckDBDataChunk } = await import("@duckdb/node-api");
  const chunk = DuckDBDataChunk.create([DOUBLE, BIGINT], 4);
  const vector = duckdb.data_chunk_get_vector(chunk.chunk, 0);
  const values = new Float64Array([1.5, 2.5, 3.5, 4.5, 5.5]);
  // copy_data_to_vector writes into the vector from a byte offset of the buffer.
  duckdb.copy_data_to_vector(vector, 0, values.buffer, 8, 32);
  const first = duckdb.vector_get_data(vector, 32);
  assert.deepEqual([...new Float64Array(first.buffer, first.byteOffset, 4)], [2.5, 3.5, 4.5, 5.5]);
  // vector_get_data gives a copy, so the adapter keeps it without copying it again (a view would go stale).
  new Float64Array(first.buffer, first.byteOffset, 4)[0] = 99;
  const second = duckdb.vector_get_data(vector, 32);
  assert.equal(new Float64Array(second.buffer, second.byteOffset, 4)[0], 2.5);
  assert.notEqual(first.buffer, second.buffer);
  // A vector whose rows are all valid has no mask.
  assert.equal(duckdb.vector_get_validity(vector, 8), null);
});

Deno.test("DuckDB adapter: the vector internals it relies on are there", async () => {
  // If an upgrade of @duckdb/node-api renames these, the adapter silently falls back to value-by-value copies.
  const { BIGINT, DOUBLE, DuckDBDataChunk, INTEGER } = await import("@duckdb/node-api");
  const chunk = DuckDBDataChunk.create([DOUBLE, BIGINT, INTEGER], 4);
  const vectors = [0, 1, 2].map((c) => chunk.getColumnVector(c) as unknown as Record<string, unknown>);
  assert.deepEqual(vectors.map((v) => (v.items as object).constructor.name), [
    "Float64Array",
    "BigInt64Array",
    "Int32Array",
  ]);
  const validity = vectors[0].validity as { data: BigUint64Array | null };
  assert.ok("data" in validity);
  assert.equal(typeof vectors[0].flush, "function");
});

Deno.test("DuckDB adapter: strings short and long, ASCII or not, read back whole", async () => {
  const db = await openDuckDB({ threads: 1 });
  try {
    const values = ["", "a", "twelve bytes", "thirteen byte", "café", "日本", "ñ".repeat(6), "x".repeat(100)];
    const sql = `select * from (values ${
      values.map((v, i) => `(${i}, ${sqlString(v)})`).join(", ")
    }) t(i, s) order by i`;
    const [chunk] = await collect(db, sql);
    assert.deepEqual(chunk.columns[1], values);
  } finally {
    await db.close();
  }
});

Deno.test("DuckDB adapter: a streamed query failing midway ends early, its error unseen", async () => {
  // Why every reader checks its row count or its end marker: if a later binding reports the error, this test fails
  // and the checks may go.
  const db = await openDuckDB({ threads: 1 });
  try {
    let rows = 0;
    const sql = "select case when i < 3000000 then i else error('boom') end as x from range(5000000) t(i)";
    for await (const chunk of streamColumns(db.connection, sql)) rows += chunk.length;
    assert.ok(rows < 3_000_000, `${rows} rows`);
  } finally {
    await db.close();
  }
});
