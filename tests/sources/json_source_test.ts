/**
 * The JSON reader on `.json` files: JSON lines or one JSON array of objects,
 * element by element, every awkward element boundary included.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openJsonlSource } from "../../src/sources/jsonl_source.ts";
import { tempDir } from "../helpers.ts";

/** What the reader gives, parsed in the reader's worker and on the job's thread: the same, or the test fails. */
async function readAll(text: string, name = "rows.json") {
  await using dir = await tempDir();
  const file = join(dir.path, name);
  await Deno.writeTextFile(file, text);
  const [byWorker, here] = [await readWith(file, 0), await readWith(file, Infinity)];
  assert.deepEqual(byWorker, here);
  return here;
}

async function readWith(file: string, inProcessMaxBytes: number) {
  const source = await openJsonlSource(file, { inProcessMaxBytes });
  const rows: Record<string, unknown>[] = [];
  const rejects: { row: number; message: string }[] = [];
  try {
    for await (const b of source.batches({ batchSize: 2 })) {
      for (let i = 0; i < b.length; i++) {
        rows.push(Object.fromEntries(source.columns.map((c) => [c.name, b.columns[c.name][i]])));
      }
      rejects.push(...(b.rejects ?? []));
    }
  } finally {
    await source.close();
  }
  return { columns: source.columns.map((c) => c.name), rows, rejects };
}

Deno.test(".json: JSON lines or a JSON array of objects", async (t) => {
  const cases: [string, string, Record<string, unknown>[]][] = [
    ["JSON lines", '{"a": 1}\n{"a": 2, "b": "x"}\n', [{ a: 1, b: undefined }, { a: 2, b: "x" }]],
    ["an array on one line", '[{"a": 1}, {"a": 2, "b": "x"}]', [{ a: 1, b: undefined }, { a: 2, b: "x" }]],
    [
      "a pretty-printed array, CRLF, leading blanks",
      '\r\n  [\r\n  {\r\n    "a": 1\r\n  },\r\n  {"a": 2, "b": "x"}\r\n]\r\n',
      [{ a: 1, b: undefined }, { a: 2, b: "x" }],
    ],
    [
      "brackets, braces, commas and escaped quotes inside strings; nested values",
      '[{"a": "],}{[,\\"\\\\", "b": [1, [2]], "c": {"d": [3]}}, {"a": "\\\\"}]',
      [{ a: '],}{[,"\\', b: [1, [2]], c: { d: [3] } }, { a: "\\", b: undefined, c: undefined }],
    ],
    ["integers beyond 2^53 stay exact", '[{"id": 9007199254740993}]', [{ id: 9007199254740993n }]],
    ["an empty array", "[]", []],
  ];
  for (const [name, text, want] of cases) {
    await t.step(name, async () => {
      const { rows, rejects } = await readAll(text);
      assert.deepEqual(rejects, []);
      assert.deepEqual(rows, want);
    });
  }
  await t.step("an element that is not an object is rejected alone, with its number", async () => {
    const { rows, rejects } = await readAll('[{"a": 1}, 7, {"a": 3}]');
    assert.deepEqual(rows, [{ a: 1 }, { a: 3 }]);
    assert.equal(rejects.length, 1);
    assert.equal(rejects[0].row, 1);
    assert.match(rejects[0].message, /Cannot parse row 2: .*not a JSON object/);
  });
  await t.step("an unterminated array: the last, partial element is rejected", async () => {
    const { rows, rejects } = await readAll('[{"a": 1}, {"a": ');
    assert.deepEqual(rows, [{ a: 1 }]);
    assert.equal(rejects.length, 1);
  });
  await t.step("text after the array is rejected line by line, not dropped", async (t) => {
    const cases: [string, string, number[]][] = [
      ["a second array", '[{"a": 1}]\n[{"a": 2}]\n', [1]],
      ["a second array on the same line", '[{"a": 1}] [{"a": 2}]', [1]],
      ["an object and a stray word on the lines after", '[{"a": 1}]\n{"a": 2}\ngarbage\n', [1, 2]],
    ];
    for (const [name, text, rejected] of cases) {
      await t.step(name, async () => {
        const { rows, rejects } = await readAll(text);
        assert.deepEqual(rows, [{ a: 1 }]);
        assert.deepEqual(rejects.map((r) => r.row), rejected);
        for (const r of rejects) {
          assert.match(r.message, new RegExp(`Cannot parse row ${r.row + 1}: text after the end of the JSON array`));
        }
      });
    }
  });
  await t.step("only blanks after the array: nothing rejected", async () => {
    const { rows, rejects } = await readAll('[{"a": 1}]\n\n  \r\n');
    assert.deepEqual([rows, rejects], [[{ a: 1 }], []]);
  });
  await t.step("a byte order mark before JSON lines or an array is not part of the first record", async (t) => {
    for (const text of ['\uFEFF{"a": 1}\n{"a": 2}\n', '\uFEFF[{"a": 1}, {"a": 2}]']) {
      await t.step(JSON.stringify(text.slice(1, 2)), async () => {
        const { rows, rejects } = await readAll(text);
        assert.deepEqual([rows, rejects], [[{ a: 1 }, { a: 2 }], []]);
      });
    }
  });
  await t.step("a 1 MB chunk boundary inside an element", async () => {
    const long = "x".repeat((1 << 20) - 9);
    const { rows } = await readAll(`[{"a": "${long}"}, {"a": "y"}]`);
    assert.deepEqual(rows.map((r) => (r.a as string).length), [long.length, 1]);
  });
});

Deno.test(".json: a record holding bytes that are not UTF-8 is rejected alone", async (t) => {
  const utf8 = new TextEncoder();
  const cases: [string, string, string][] = [
    ["JSON lines", '{"a": "fine"}\n{"a": "caf', '"}\n{"a": "ok\uFFFD"}\n'],
    ["an array", '[{"a": "fine"},\n{"a": "caf', '"},\n{"a": "ok\uFFFD"}]'],
  ];
  for (const [name, before, after] of cases) {
    await t.step(name, async () => {
      await using dir = await tempDir();
      const file = join(dir.path, "rows.json");
      await Deno.writeFile(file, new Uint8Array([...utf8.encode(before), 0xe9, ...utf8.encode(after)]));
      // Parsed in the reader's worker, and on the job's thread.
      for (const inProcessMaxBytes of [0, Infinity]) {
        const source = await openJsonlSource(file, { inProcessMaxBytes });
        const rows: unknown[] = [];
        const rejects: { row: number; message: string; data: unknown }[] = [];
        for await (const b of source.batches({ batchSize: 10 })) {
          rows.push(...(b.columns.a as unknown[]));
          rejects.push(...(b.rejects ?? []));
        }
        await source.close();
        assert.deepEqual(rows, ["fine", "ok\uFFFD"]);
        assert.deepEqual(rejects.map((r) => r.row), [1]);
        assert.match(rejects[0].message, /Cannot parse row 2: it holds bytes that are not UTF-8/);
        assert.equal(rejects[0].data, '{"a": "caf\uFFFD"}');
      }
    });
  }
});
