import assert from "node:assert/strict";
import { quoteIdent, quoteTable } from "../../src/postgres/identifier.ts";
import { thrown } from "../helpers.ts";

Deno.test("quoteIdent and quoteTable: quoted as typed, or refused", async (t) => {
  const ok: [string, string][] = [
    ["PULocationID", '"PULocationID"'],
    ["trip distance", '"trip distance"'],
    ["select", '"select"'],
    ["drop table x; --", '"drop table x; --"'],
    ["été", '"été"'],
  ];
  for (const [name, quoted] of ok) {
    await t.step(`column ${JSON.stringify(name)}`, () => assert.equal(quoteIdent(name), quoted));
  }
  await t.step("schema.table", () => assert.equal(quoteTable("analytics.Preds"), '"analytics"."Preds"'));
  const refused: [string, RegExp][] = [
    ['a"b', /holds a double quote/],
    ['x"; drop table rides; --', /holds a double quote/],
    ["a\nb", /control character/],
    ["a\u0000b", /control character/],
    ["", /is empty/],
    ["x".repeat(64), /longer than Postgres's 63 bytes/],
  ];
  for (const [name, message] of refused) {
    await t.step(`refuses ${JSON.stringify(name.slice(0, 20))}`, () => {
      const err = thrown(() => quoteIdent(name));
      assert.equal(err.name, "UsageError");
      assert.match(err.message, message);
    });
  }
  await t.step("refuses a.b.c", () => {
    const err = thrown(() => quoteTable("a.b.c"));
    assert.match(err.message, /more than one dot/);
  });
});
