import assert from "node:assert/strict";
import type { ColumnInfo, RowBatch, ValueType } from "../../src/rows.ts";
import { createPostgresSink, type Replace } from "../../src/sinks/postgres_sink.ts";
import { rejection, waitUntil } from "../helpers.ts";
import { PG_URL, withDb } from "../postgres/helpers.ts";

const COLUMNS: ColumnInfo[] = [
  { name: "ride_id", type: "string" },
  { name: "duration", type: "float64" },
  { name: "model_version", type: "string" },
  { name: "window_start", type: "timestamptz" },
];

function rides(ids: string[], version: string, window: string, duration = 1): RowBatch {
  return {
    offset: 0,
    length: ids.length,
    columns: {
      ride_id: ids,
      duration: ids.map(() => duration),
      model_version: ids.map(() => version),
      window_start: ids.map(() => new Date(window)),
    },
  };
}

function slice(version: string, window: string, shard?: Replace["shard"]): Replace {
  return {
    match: [
      { name: "model_version", type: "string", value: version },
      { name: "window_start", type: "timestamptz", value: new Date(window) },
    ],
    shard,
  };
}

async function writeAll(table: string, replace: Replace | undefined, batches: RowBatch[], columns = COLUMNS) {
  const sink = createPostgresSink({ url: PG_URL, table, replace });
  await sink.open(columns);
  for (const b of batches) await sink.write(b);
  await sink.commit();
}

Deno.test("postgres sink: creates the table with types that follow the data, COPY keeps every value", async () => {
  await withDb(["sink_types"], async ({ sql }, [table]) => {
    const columns: ColumnInfo[] = [
      { name: "Ride ID", type: "string" },
      { name: "amount", type: "string", dbType: "numeric(10,2)" },
      { name: "code", type: "string", dbType: "character varying(12)" },
      { name: "n", type: "int64" },
      { name: "small", type: "int32" },
      { name: "f", type: "float64" },
      { name: "f32", type: "float32" },
      { name: "ok", type: "bool" },
      { name: "ts", type: "timestamp" },
      { name: "tstz", type: "timestamptz" },
      { name: "d", type: "date" },
      { name: "doc", type: "json" },
    ];
    const text = ["tab\there", "new\nline\r\n", "back\\slash \\N", "été ✓", "", null];
    const n = text.length;
    const at = new Date("2021-02-01T00:15:00.123Z");
    await writeAll(table, undefined, [{
      offset: 0,
      length: n,
      columns: {
        "Ride ID": text,
        amount: ["12.30", "0.01", null, "1", "2", "3"],
        code: ["a", "b", "c", "d", "e", null],
        n: [9007199254740993n, -1n, 0n, null, 5n, 6n],
        small: new Int32Array([1, 2, 3, 4, 5, 6]),
        f: new Float64Array([1.5, NaN, Infinity, -Infinity, 1e-300, 0.1 + 0.2]),
        f32: new Float32Array([0.5, 1, 2, 3, 4, 5]),
        ok: [true, false, 1, 0, null, true],
        ts: [at, at, at, at, at, null],
        tstz: [at, at, at, at, at, null],
        d: [at, at, at, at, at, null],
        doc: [{ a: "x\ty", b: [1, 2n] }, "text", null, 1, [], {}],
      },
    }], columns);
    const types = await sql.unsafe(
      `select attname, format_type(atttypid, atttypmod) as t from pg_attribute where attrelid = '${table}'::regclass and attnum > 0 order by attnum`,
    );
    assert.deepEqual(types.map((r) => [r.attname, r.t]), [
      ["Ride ID", "text"],
      ["amount", "numeric(10,2)"],
      ["code", "character varying(12)"],
      ["n", "bigint"],
      ["small", "integer"],
      ["f", "double precision"],
      ["f32", "real"],
      ["ok", "boolean"],
      ["ts", "timestamp without time zone"],
      ["tstz", "timestamp with time zone"],
      ["d", "date"],
      ["doc", "jsonb"],
    ]);
    const rows = await sql.unsafe(`select *, f::text as ftext, ts::text as tstext from ${table}`);
    assert.deepEqual(rows.map((r) => r["Ride ID"]), text);
    assert.deepEqual(rows.map((r) => r.amount), ["12.30", "0.01", null, "1.00", "2.00", "3.00"]);
    assert.deepEqual(rows.map((r) => r.n), [9007199254740993n, -1n, 0n, null, 5n, 6n]);
    assert.deepEqual(rows.map((r) => r.ftext), [
      "1.5",
      "NaN",
      "Infinity",
      "-Infinity",
      "1e-300",
      "0.30000000000000004",
    ]);
    assert.deepEqual(rows.map((r) => r.ok), [true, false, true, false, null, true]);
    assert.equal(rows[0].tstext, "2021-02-01 00:15:00.123");
    assert.equal((rows[0].tstz as Date).toISOString(), at.toISOString());
    assert.deepEqual(rows.map((r) => r.doc), [{ a: "x\ty", b: [1, 2] }, "text", null, 1, [], {}]);
  });
});

/** Writes one batch of columns kept from a Postgres source (name, value type, Postgres type, values) to `table`. */
async function writeKept(table: string, columns: [string, ValueType, string, unknown[]][]): Promise<void> {
  await writeAll(table, undefined, [{
    offset: 0,
    length: columns[0][3].length,
    columns: Object.fromEntries(columns.map(([name, , , values]) => [name, values])),
  }], columns.map(([name, type, dbType]): ColumnInfo => ({ name, type, dbType })));
}

Deno.test("postgres sink: timestamps carried as text (microseconds, infinity, before year 1) arrive as they were", async () => {
  await withDb(["sink_micros"], async ({ sql }, [table]) => {
    await writeKept(table, [
      ["ts", "timestamp", "timestamp without time zone", [
        "2021-02-01T10:00:00.123456",
        "infinity",
        "0044-03-15 10:00:00 BC",
      ]],
      ["tstz", "timestamptz", "timestamp with time zone", [
        "2021-02-01T10:00:00.654321Z",
        "-infinity",
        new Date("2021-02-01T10:00:00Z"),
      ]],
      ["d", "date", "date", [new Date("2021-02-01T00:00:00Z"), "infinity", "0044-03-15 BC"]],
    ]);
    const rows = await sql.unsafe(`select ts::text as ts, tstz::text as tstz, d::text as d from ${table}`);
    assert.deepEqual(rows.map((r) => [r.ts, r.tstz, r.d]), [
      ["2021-02-01 10:00:00.123456", "2021-02-01 10:00:00.654321+00", "2021-02-01"],
      ["infinity", "-infinity", "infinity"],
      ["0044-03-15 10:00:00 BC", "2021-02-01 10:00:00+00", "0044-03-15 BC"],
    ]);
  });
});

Deno.test("postgres sink: a Postgres array column kept from a Postgres source is written as an array", async () => {
  await withDb(["sink_arrays"], async ({ sql }, [table]) => {
    await writeKept(table, [
      ["tags", "json", "text[]", [["a", 'quote " and back\\slash', "b,c", null, "NULL", "{x}", "tab\there"], [], null]],
      ["ids", "json", "bigint[]", [[9007199254740993n, -1, null], [0], null]],
      ["grid", "json", "double precision[]", [[[1.5, NaN], [null, -0.25]], [[1]], null]],
    ]);
    const types = await sql.unsafe(
      `select format_type(atttypid, atttypmod) as t from pg_attribute where attrelid = '${table}'::regclass and attnum > 0 order by attnum`,
    );
    assert.deepEqual(types.map((r) => r.t), ["text[]", "bigint[]", "double precision[]"]);
    const rows = await sql.unsafe(`select tags, ids::text as ids, grid::text as grid from ${table}`);
    assert.deepEqual(rows.map((r) => r.tags), [
      ["a", 'quote " and back\\slash', "b,c", null, "NULL", "{x}", "tab\there"],
      [],
      null,
    ]);
    assert.deepEqual(rows.map((r) => r.ids), ["{9007199254740993,-1,NULL}", "{0}", null]);
    assert.deepEqual(rows.map((r) => r.grid), ["{{1.5,NaN},{NULL,-0.25}}", "{{1}}", null]);
  });
});

Deno.test("postgres sink: one transaction, visible only on commit; abort keeps the old rows", async () => {
  await withDb(["sink_tx"], async ({ sql }, [table]) => {
    const count = async () => (await sql.unsafe(`select count(*)::int as n from ${table}`))[0].n;
    await writeAll(table, slice("v1", "2021-02-01Z"), [rides(["a", "b", "c"], "v1", "2021-02-01Z")]);
    const sink = createPostgresSink({ url: PG_URL, table, replace: slice("v1", "2021-02-01Z") });
    await sink.open(COLUMNS);
    await sink.write(rides(["d", "e"], "v1", "2021-02-01Z"));
    assert.equal(await count(), 3, "others still see the old rows while the new ones are written");
    await sink.abort();
    assert.deepEqual((await sql.unsafe(`select ride_id from ${table} order by 1`)).map((r) => r.ride_id), [
      "a",
      "b",
      "c",
    ]);
  });
});

Deno.test("postgres sink: a rerun replaces its own slice (model version, window, shard) and nothing else", async (t) => {
  await withDb(["sink_replace"], async ({ sql }, [table]) => {
    const ids = async (where = "true") =>
      (await sql.unsafe(`select ride_id from ${table} where ${where} order by 1`)).map((r) => r.ride_id as string);
    await writeAll(table, slice("v1", "2021-01-01Z"), [rides(["jan1", "jan2"], "v1", "2021-01-01Z")]);
    await writeAll(table, slice("v1", "2021-02-01Z"), [
      rides(["feb1", "feb2"], "v1", "2021-02-01Z"),
      rides(["feb3"], "v1", "2021-02-01Z"),
    ]);
    await writeAll(table, slice("v2", "2021-02-01Z"), [rides(["feb1", "feb2"], "v2", "2021-02-01Z")]);
    await t.step("rerunning February v1 replaces only those rows", async () => {
      await writeAll(table, slice("v1", "2021-02-01Z"), [rides(["feb1", "feb9"], "v1", "2021-02-01Z", 2)]);
      assert.deepEqual(await ids("model_version = 'v1'"), ["feb1", "feb9", "jan1", "jan2"]);
      assert.deepEqual(await ids("model_version = 'v2'"), ["feb1", "feb2"]);
      const [{ d }] = await sql.unsafe(
        `select sum(duration)::int as d from ${table} where model_version = 'v1' and window_start = '2021-02-01Z'`,
      );
      assert.equal(d, 4);
    });
    await t.step("a rerun with no rows empties its slice", async () => {
      await writeAll(table, slice("v2", "2021-02-01Z"), []);
      assert.deepEqual(await ids("model_version = 'v2'"), []);
    });
    await t.step("shard K/N replaces only the rows whose key hashes to K", async () => {
      const keys = Array.from({ length: 40 }, (_, i) => `r${i}`);
      await writeAll(table, slice("v3", "2021-02-01Z"), [rides(keys, "v3", "2021-02-01Z")]);
      const shard1 = { index: 1, count: 2, key: "ride_id" };
      const [{ n: mine }] = await sql.unsafe(
        `select count(*)::int as n from ${table} where model_version = 'v3' and mod(abs(hashtext(ride_id)::int8), 2) = 0`,
      );
      assert.ok(mine > 5 && mine < 35);
      await writeAll(table, slice("v3", "2021-02-01Z", shard1), [rides(["new"], "v3", "2021-02-01Z")]);
      assert.equal((await ids("model_version = 'v3'")).length, 40 - mine + 1);
      assert.ok((await ids("model_version = 'v3'")).includes("new"));
    });
  });
});

Deno.test("postgres sink: the replace's delete uses the slice index, not a scan of the whole table", async () => {
  await withDb(["sink_index"], async ({ sql }, [table]) => {
    // 400 windows of 100 rows; the sink creates the table with its index on (model_version, window_start).
    await writeAll(table, slice("v1", "2020-01-01Z"), []);
    await sql.unsafe(`insert into ${table} (ride_id, duration, model_version, window_start)
      select 'r' || i, 1, 'v1', timestamptz '2020-01-01Z' + (i % 400) * interval '1 day'
      from generate_series(1, 40000) i`);
    await sql.unsafe(`analyze ${table}`);
    const scans = async () => {
      const [r] = await sql.unsafe(
        `select coalesce(seq_scan, 0)::int as seq, coalesce(idx_scan, 0)::int as idx from pg_stat_user_tables where relid = $1::regclass`,
        [table],
      );
      return r as unknown as { seq: number; idx: number };
    };
    const before = await scans();
    // The sink's only read of the table is its delete (COPY does not scan).
    await writeAll(table, slice("v1", "2020-02-01Z"), [rides(["new"], "v1", "2020-02-01Z")]);
    // The sink's backend reports its counts when it ends, just after its connection closes.
    let after = before;
    await waitUntil(async () => {
      after = await scans();
      return after.seq + after.idx !== before.seq + before.idx;
    }, "the sink's backend to report its scans");
    assert.deepEqual({ seq: after.seq - before.seq, idx: after.idx - before.idx }, { seq: 0, idx: 1 });
    const [{ n }] = await sql.unsafe(`select count(*)::int as n from ${table} where window_start = '2020-02-01Z'`);
    assert.equal(n, 1, "the window's 100 rows were replaced by the new one");
  });
});

Deno.test("postgres sink: a null slice value replaces the rows where that column is NULL", async () => {
  await withDb(["sink_null"], async ({ sql }, [table]) => {
    const nullWindow: Replace = {
      match: [
        { name: "model_version", type: "string", value: "v1" },
        { name: "window_start", type: "timestamptz", value: null },
      ],
    };
    const batch = (ids: string[]) => ({
      ...rides(ids, "v1", "2021-02-01Z"),
      columns: { ...rides(ids, "v1", "2021-02-01Z").columns, window_start: ids.map(() => null) },
    });
    await writeAll(table, slice("v1", "2021-02-01Z"), [rides(["feb"], "v1", "2021-02-01Z")]);
    await writeAll(table, nullWindow, [batch(["a", "b"])]);
    await writeAll(table, nullWindow, [batch(["c"])]);
    const rows = await sql.unsafe(`select ride_id from ${table} order by 1`);
    assert.deepEqual(rows.map((r) => r.ride_id), ["c", "feb"]);
  });
});

Deno.test("postgres sink: a rejects table replaces its shard by the key inside its JSON data", async () => {
  await withDb(["sink_rejects"], async ({ sql }, [table]) => {
    const columns: ColumnInfo[] = [
      { name: "row", type: "int64" },
      { name: "data", type: "json" },
      { name: "model_version", type: "string" },
      { name: "window_start", type: "timestamptz" },
    ];
    const rejects = (ids: number[]): RowBatch => ({
      offset: 0,
      length: ids.length,
      columns: {
        row: ids.map(BigInt),
        data: ids.map((id) => ({ ride_id: BigInt(id), trip_distance: "x" })),
        model_version: ids.map(() => "v1"),
        window_start: ids.map(() => new Date("2021-02-01Z")),
      },
    });
    const ids = Array.from({ length: 40 }, (_, i) => i + 1);
    await writeAll(table, slice("v1", "2021-02-01Z"), [rejects(ids)], columns);
    const shard = { index: 2, count: 3, key: "ride_id" };
    // The source hashes the key column as text; for a bigint that is its digits.
    const [{ n: inShard }] = await sql.unsafe(
      `select count(*)::int as n from unnest($1::int8[]) id where mod(abs(hashtext(id::text)::int8), 3) = 1`,
      [`{${ids}}`],
    );
    await writeAll(table, { ...slice("v1", "2021-02-01Z", shard), shardKeyIn: "data" }, [rejects([1000])], columns);
    const [{ n }] = await sql.unsafe(`select count(*)::int as n from ${table}`);
    assert.ok(inShard > 3 && inShard < 30);
    assert.equal(n, 40 - inShard + 1);
  });
});

Deno.test("postgres sink: two runs of the same slice at once leave one run's rows, not both", async () => {
  await withDb(["sink_race"], async ({ sql }, [table]) => {
    await writeAll(table, slice("v1", "2021-02-01Z"), [rides(["old"], "v1", "2021-02-01Z")]);
    const a = createPostgresSink({ url: PG_URL, table, replace: slice("v1", "2021-02-01Z") });
    const b = createPostgresSink({ url: PG_URL, table, replace: slice("v1", "2021-02-01Z") });
    await a.open(COLUMNS);
    await a.write(rides(["a1", "a2"], "v1", "2021-02-01Z"));
    let bOpened = false;
    const bOpen = b.open(COLUMNS).then(() => (bOpened = true));
    // Until the second run is seen waiting for the slice's lock (or, wrongly, opened).
    const waiting = async () => {
      const [{ n }] = await sql.unsafe(
        `select count(*)::int as n from pg_stat_activity
         where datname = current_database() and wait_event = 'advisory' and query like '%pg_advisory_xact_lock%'`,
      );
      return (n as number) > 0;
    };
    await waitUntil(async () => bOpened || await waiting(), "the second run waiting for the first");
    assert.equal(bOpened, false, "the second run waits for the first");
    await a.commit();
    await bOpen;
    await b.write(rides(["b1"], "v1", "2021-02-01Z"));
    await b.commit();
    assert.deepEqual((await sql.unsafe(`select ride_id from ${table}`)).map((r) => r.ride_id), ["b1"]);
  });
});

Deno.test("postgres sink: clear errors", async (t) => {
  await withDb(["sink_errors"], async ({ sql }, [table]) => {
    await t.step("an existing table without an output column", async () => {
      await sql.unsafe(`create table ${table} (ride_id text, duration float8)`);
      const sink = createPostgresSink({ url: PG_URL, table });
      const err = await rejection(() => sink.open(COLUMNS));
      assert.equal(err.name, "UsageError");
      assert.match(
        err.message,
        /exists without columns "model_version", "window_start" \(it has "ride_id", "duration"\)/,
      );
    });
    await t.step(
      "a value the column cannot take fails the run (at a write or the commit) and nothing is committed",
      async () => {
        const sink = createPostgresSink({ url: PG_URL, table });
        await sink.open([{ name: "ride_id", type: "string" }, { name: "duration", type: "string" }]);
        const err = await rejection(async () => {
          await sink.write({ offset: 0, length: 2, columns: { ride_id: ["x", "y"], duration: ["1.5", "abc"] } });
          await sink.commit();
        });
        assert.equal(err.name, "InputError");
        assert.match(err.message, /invalid input syntax for type double precision: "abc"/i);
        await sink.abort();
        assert.equal((await sql.unsafe(`select count(*)::int as n from ${table}`))[0].n, 0);
      },
    );
    await t.step("names that would break out of quoting are refused before connecting", async () => {
      assert.throws(
        () => createPostgresSink({ url: PG_URL, table: 'p"; drop table x; --' }),
        /output table name .* is refused/,
      );
      const sink = createPostgresSink({ url: "postgres://u@127.0.0.1:1/none", table: "ok" });
      const err = await rejection(() => sink.open([{ name: 'bad"col', type: "string" }]));
      assert.equal(err.name, "UsageError");
      assert.match(err.message, /output column name "bad\\"col" is refused/);
    });
  });
});
