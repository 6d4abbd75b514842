import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { connectPostgres, isPostgresUrl, resolveTarget } from "../../src/postgres/connect.ts";
import { rejection, thrown } from "../helpers.ts";
import { PG_URL, withDb } from "./helpers.ts";

Deno.test("resolveTarget: URL, DATABASE_URL, PG* variables; descriptions without the password", async (t) => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const cases: [string, string | undefined, Record<string, string>, string][] = [
    ["a full URL", "postgres://app:s3cret@db.example:6543/rides", {}, "postgres://app@db.example:6543/rides"],
    ["postgresql:// scheme", "postgresql://app@db/rides", {}, "postgres://app@db:5432/rides"],
    ["missing parts from PG*", "postgres://db2", { PGUSER: "u", PGDATABASE: "d", PGPORT: "7" }, "postgres://u@db2:7/d"],
    ["postgres: alone is DATABASE_URL", "postgres:", { DATABASE_URL: "postgres://x:pw@h:1/y" }, "postgres://x@h:1/y"],
    ["no URL is DATABASE_URL", undefined, { DATABASE_URL: "postgres://x@h:1/y" }, "postgres://x@h:1/y"],
    [
      "else PG* variables",
      undefined,
      { PGHOST: "h", PGPORT: "2", PGUSER: "u", PGDATABASE: "d", PGPASSWORD: "pw" },
      "postgres://u@h:2/d",
    ],
    ["defaults: 127.0.0.1, postgres", undefined, {}, "postgres://postgres@127.0.0.1:5432/postgres"],
    ["escaped user and password", "postgres://a%40b:p%3Aw@h/d", {}, "postgres://a%40b@h:5432/d"],
  ];
  for (const [name, url, vars, description] of cases) {
    await t.step(name, () => {
      const target = resolveTarget(url, env(vars));
      assert.equal(target.description, description);
      assert.ok(!target.description.includes("s3cret") && !target.description.includes("pw"));
    });
  }
  await t.step("the password is decoded for the connection", () => {
    assert.equal(resolveTarget("postgres://a%40b:p%3Aw@h/d", env({})).password, "p:w");
    assert.equal(resolveTarget(undefined, env({ PGPASSWORD: "pw" })).password, "pw");
  });
  await t.step("a URL that does not parse is refused without echoing it", () => {
    const err = thrown(() => resolveTarget("postgres://u:s3cret@[bad/d", env({})));
    assert.equal(err.name, "UsageError");
    assert.ok(!err.message.includes("s3cret"));
  });
  await t.step("isPostgresUrl", () => {
    assert.deepEqual(
      ["postgres://h/d", "POSTGRESQL://h", "postgres:", "rides.csv", "pg.parquet", undefined].map(isPostgresUrl),
      [
        true,
        true,
        true,
        false,
        false,
        false,
      ],
    );
  });
});

Deno.test("connectPostgres: the real server, and each failure with its clear error", async (t) => {
  await t.step("connects and reads int8 as bigint, naive timestamps as UTC", async () => {
    await withDb([], async ({ sql }) => {
      const [row] =
        await sql`select 9007199254740993::int8 as big, '2021-02-01 00:15:00'::timestamp as ts, 1.5::float8 as f`;
      assert.equal(row.big, 9007199254740993n);
      assert.equal((row.ts as Date).toISOString(), "2021-02-01T00:15:00.000Z");
      assert.equal(row.f, 1.5);
    });
  });
  await t.step("unreachable server: retried, then UnavailableError naming host, port and database", async () => {
    const started = performance.now();
    const err = await rejection(() =>
      connectPostgres("postgres://app:s3cret@127.0.0.1:1/rides", { retries: 2, retryDelayMs: 100 })
    );
    assert.equal(err.name, "UnavailableError");
    assert.equal(err.exitCode, 69);
    assert.match(err.message, /Cannot reach Postgres at 127\.0\.0\.1:1, database "rides": connection refused/);
    assert.ok(!err.message.includes("s3cret"));
    assert.ok(performance.now() - started >= 300, "two retries back off 100 + 200 ms");
  });
  await t.step("a server that accepts and never answers: UnavailableError after the connect timeout", async () => {
    const sockets: Socket[] = [];
    const server = createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as { port: number };
    try {
      const started = performance.now();
      const err = await rejection(() =>
        connectPostgres(`postgres://u@127.0.0.1:${port}/d`, { retries: 0, connectTimeout: 1 })
      );
      assert.equal(err.name, "UnavailableError");
      assert.match(
        err.message,
        new RegExp(`Cannot reach Postgres at 127\\.0\\.0\\.1:${port}, database "d": .*CONNECT_TIMEOUT`),
      );
      assert.ok(performance.now() - started < 5_000, "within the timeout, not waiting on the silent server");
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });
  await t.step("unknown host: UnavailableError", async () => {
    const err = await rejection(() => connectPostgres("postgres://u@no-such-host.invalid/d", { retries: 0 }));
    assert.equal(err.name, "UnavailableError");
    assert.match(err.message, /no-such-host\.invalid:5432, database "d"/);
  });
  await t.step("missing database: NotFoundError, not retried", async () => {
    const url = new URL(PG_URL);
    url.pathname = "/no_such_database_score";
    const started = performance.now();
    const err = await rejection(() => connectPostgres(url.href, { retryDelayMs: 2000 }));
    assert.equal(err.name, "NotFoundError");
    assert.equal(err.exitCode, 66);
    assert.match(err.message, /database "no_such_database_score" does not exist/);
    assert.ok(performance.now() - started < 2000, "a missing database is not a transient failure");
  });
  // The test server trusts 127.0.0.1, so it never checks a password: a
  // role it does not know is the credential failure it can really give.
  await t.step("unknown role with a password: AuthError that never shows the password", async () => {
    const url = new URL(PG_URL);
    url.username = "no_such_role_score";
    url.password = "s3cret";
    const err = await rejection(() => connectPostgres(url.href));
    assert.equal(err.name, "AuthError");
    assert.equal(err.exitCode, 77);
    assert.match(err.message, /refused user "no_such_role_score"/);
    assert.match(err.message, /127\.0\.0\.1:5432, database "test"/);
    assert.ok(!err.message.includes("s3cret"));
  });
});
