import assert from "node:assert/strict";
import { csvBytes, type CsvColumn, csvColumn, csvField, csvHeader } from "../../src/sinks/csv_text.ts";
import type { ValueType } from "../../src/rows.ts";
import { textBytesOf, textOf } from "../../src/text_bytes.ts";

/** csvBytes' lines as text, made in a buffer too small, so it grows. */
function csvText(columns: CsvColumn[], types: ValueType[], length: number): string {
  return new TextDecoder().decode(csvBytes(columns, types, length, { bytes: new Uint8Array(4) }));
}

Deno.test("CSV text", async (t) => {
  const columnCases: [string, Parameters<typeof csvColumn>, unknown][] = [
    ["a number column of a typed array stays as it is", [new Float64Array([1.5, 2]), "float64", 2], {
      values: new Float64Array([1.5, 2]),
    }],
    ["one value on every row is one cell", [["m,1", "m,1"], "string", 2], { same: '"m,1"' }],
    ["one null on every row is an empty cell", [[null, null], "float64", 2], { same: "" }],
    ["strings kept as they are", [["a", "bc"], "string", 2], { values: ["a", "bc"] }],
    ["strings joined for a worker", [["a", "bc", ""], "string", 3, { join: true }], {
      joined: "abc",
      ends: new Int32Array([1, 3, 3]),
    }],
    ["a value that is no string is not joined", [["a", null], "string", 2, { join: true }], { values: ["a", null] }],
  ];
  for (const [name, args, expected] of columnCases) {
    await t.step(`csvColumn: ${name}`, () => assert.deepEqual(csvColumn(...args), expected));
  }
  await t.step("csvBytes: joined, typed, quoted and constant columns print the same lines as plain values", () => {
    const ids = ["7", 'say "hi"', "a,b"];
    const duration = new Float64Array([0.1 + 0.2, 26, 1e21]);
    const lines = '7,0.30000000000000004,m,v1\n"say ""hi""",26,m,v1\n"a,b",1e+21,m,v1\n';
    const types = ["string", "float64", "string", "string"] as const;
    const constant = (v: string) => [v, v, v];
    const plain = [ids, duration, constant("m"), constant("v1")];
    assert.equal(csvText(plain.map((v, i) => csvColumn(v, types[i], 3)), [...types], 3), lines);
    assert.equal(csvText(plain.map((v, i) => csvColumn(v, types[i], 3, { join: true })), [...types], 3), lines);
  });
  await t.step("csvBytes: a constant column before others prints on every line", () => {
    assert.equal(csvText([{ same: "m" }, { values: [1, 2] }], ["string", "float64"], 2), "m,1\nm,2\n");
  });
  await t.step("csvBytes: text that is not ASCII, and quoted text, whatever the column's form", () => {
    const values = ["café", "日本", "a,b", 'x"y', "plain"];
    const lines = 'café,1\n日本,2\n"a,b",3\n"x""y",4\nplain,5\n';
    const ids = new Float64Array([1, 2, 3, 4, 5]);
    for (const join of [false, true]) {
      const columns = [csvColumn(values, "string", 5, { join }), csvColumn(ids, "float64", 5)];
      assert.equal(csvText(columns, ["string", "float64"], 5), lines, join ? "joined" : "values");
    }
  });
  await t.step("csvColumn: strings decoded from ASCII bytes go as a copy of the bytes, ends and all", () => {
    const column = textBytesOf(["a", null, "bc"]);
    const texts = textOf(column);
    const got = csvColumn(texts, "string", 3, { join: true });
    assert.deepEqual(got, { utf8: new TextEncoder().encode("abc"), ends: new Int32Array([1, 1, 3]) });
    assert.ok("utf8" in got && got.utf8.buffer !== column.bytes.buffer, "a copy: the sink moves it to its worker");
    // Not the array textOf made, not ASCII, or not the batch's length: joined or as they are.
    assert.ok("joined" in csvColumn([...textOf(textBytesOf(["a", "bc"]))], "string", 2, { join: true }));
    assert.ok("joined" in csvColumn(textOf(textBytesOf(["é", "bc"])), "string", 2, { join: true }));
    assert.ok("values" in csvColumn(texts, "string", 2));
  });
  await t.step("csvBytes: text from bytes prints as the same text as strings, quoted, empty or not ASCII", () => {
    const cases = [["7", "ride 22", "x"], ["7", 'say "hi"', "a,b"], ["a\nb", "c\rd", ""], [null, "", "z"], [
      "café",
      "日本",
      "a",
    ]];
    for (const texts of cases) {
      const ids = new Float64Array([1, 2, 3]);
      const expected = csvText([csvColumn(texts, "string", 3), csvColumn(ids, "float64", 3)], ["string", "float64"], 3);
      const fromBytes = csvColumn(textOf(textBytesOf(texts)), "string", 3, { join: true });
      const got = csvText([fromBytes, csvColumn(ids, "float64", 3)], ["string", "float64"], 3);
      assert.equal(got, expected, JSON.stringify(texts));
    }
  });
  await t.step("csvBytes: a buffer reused for a longer batch grows, an earlier batch's bytes left behind", () => {
    const into = { bytes: new Uint8Array(8) };
    const first = new TextDecoder().decode(csvBytes([{ values: ["ab"] }], ["string"], 1, into));
    const long = Array.from({ length: 1000 }, (_, i) => `row${i}`);
    const text = new TextDecoder().decode(
      csvBytes([csvColumn(long, "string", 1000, { join: true })], ["string"], 1000, into),
    );
    assert.equal(first, "ab\n");
    assert.equal(text, long.join("\n") + "\n");
  });
  await t.step("csvBytes: a buffer grown past 16 MiB for one batch is let go at the next", () => {
    const into = { bytes: new Uint8Array(8) };
    const long = "x".repeat(6 << 20);
    csvBytes([{ values: [long + ","] }], ["string"], 1, into);
    assert.ok(into.bytes.length > 16 << 20, `${into.bytes.length} bytes`);
    assert.equal(new TextDecoder().decode(csvBytes([{ values: ["a"] }], ["string"], 1, into)), "a\n");
    assert.equal(into.bytes.length, 1 << 20);
  });
  await t.step("csvHeader and csvField quote only what needs it", () => {
    assert.equal(csvHeader(["a", "b,c", 'd"']), 'a,"b,c","d"""\n');
    assert.equal(csvField("line\nbreak"), '"line\nbreak"');
    assert.equal(csvField("plain"), "plain");
  });
});
