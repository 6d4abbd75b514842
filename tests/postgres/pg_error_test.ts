import assert from "node:assert/strict";
import { pgError } from "../../src/postgres/pg_error.ts";

const TARGET = { host: "db.example", port: 6543, database: "rides", user: "app" };

// The server in the tests trusts every local connection, so a wrong
// password (28P01) cannot happen there: its mapping is checked here, on
// the error shape postgres.js gives.
Deno.test("pgError: each SQLSTATE or socket code becomes our error, naming where", async (t) => {
  const cases: [string, Record<string, unknown>, string, number, RegExp][] = [
    [
      "wrong password",
      { code: "28P01", message: 'password authentication failed for user "app"' },
      "AuthError",
      77,
      /^Postgres at db\.example:6543, database "rides" refused user "app" while reading: password authentication failed/,
    ],
    ["unknown role", { code: "28000", message: 'role "x" does not exist' }, "AuthError", 77, /refused user "app"/],
    [
      "permission denied",
      { code: "42501", message: "permission denied for table rides" },
      "AuthError",
      77,
      /permission denied/,
    ],
    [
      "missing database",
      { code: "3D000", message: 'database "rides" does not exist' },
      "NotFoundError",
      66,
      /does not exist/,
    ],
    [
      "missing table",
      { code: "42P01", message: 'relation "rides" does not exist' },
      "NotFoundError",
      66,
      /^Relation "rides" does not exist in Postgres at db\.example:6543, database "rides" while reading/,
    ],
    [
      "syntax error",
      { code: "42601", message: 'syntax error at or near "selec"' },
      "UsageError",
      64,
      /^Syntax error at or near "selec" while reading/,
    ],
    [
      "bad value",
      { code: "22P02", message: 'invalid input syntax for type bigint: "x"' },
      "InputError",
      65,
      /^Invalid input syntax for type bigint: "x" while reading \(Postgres at db\.example:6543, database "rides"\)$/,
    ],
    [
      "refused",
      { code: "ECONNREFUSED", message: "connect ECONNREFUSED" },
      "UnavailableError",
      69,
      /^Cannot reach Postgres at db\.example:6543, database "rides" while reading: connection refused$/,
    ],
    ["unknown host", { code: "ENOTFOUND", message: "getaddrinfo ENOTFOUND" }, "UnavailableError", 69, /host not found/],
    [
      "starting up",
      { code: "57P03", message: "the database system is starting up" },
      "UnavailableError",
      69,
      /starting up/,
    ],
    ["connection lost", { code: "08006", message: "connection failure" }, "UnavailableError", 69, /Cannot reach/],
  ];
  for (const [name, err, kind, exitCode, message] of cases) {
    await t.step(name, () => {
      const e = pgError(Object.assign(new Error(err.message as string), err), TARGET, "reading");
      assert.equal(e.name, kind);
      assert.equal((e as unknown as { exitCode: number }).exitCode, exitCode);
      assert.match(e.message, message);
    });
  }
  await t.step("a socket error that echoes a URL loses its password", () => {
    const e = pgError(
      Object.assign(new Error("x"), { code: "08001", message: "cannot connect to postgres://app:s3cret@db/rides" }),
      TARGET,
    );
    assert.ok(!e.message.includes("s3cret"));
    assert.match(e.message, /postgres:\/\/app:\*\*\*@db/);
  });
  await t.step("an error without a code is left as it is", () => {
    const bug = new TypeError("x is not a function");
    assert.equal(pgError(bug, TARGET), bug);
  });
});
