import assert from "node:assert/strict";
import { bytesBehind, concatText, isTextBytes, sliceText, textBytesOf as bytesOf, textOf } from "../src/text_bytes.ts";

const CASES: { name: string; texts: (string | null)[] }[] = [
  { name: "ASCII only (decoded at once, cut apart)", texts: ["1", "", "ride 22", "x,y"] },
  { name: "non-ASCII among ASCII (one by one)", texts: ["a", "héllo", "日本", "😀", ""] },
  { name: "nulls beside empty texts", texts: [null, "", "a", null] },
  { name: "none", texts: [] },
];

Deno.test("text bytes", async (t) => {
  for (const { name, texts } of CASES) {
    await t.step(`textOf: ${name}`, () => {
      assert.deepEqual(textOf(bytesOf(texts)), texts);
    });
    await t.step(`sliceText and concatText: ${name}`, () => {
      const column = bytesOf(texts);
      for (let cut = 0; cut <= texts.length; cut++) {
        const parts = [sliceText(column, 0, cut), sliceText(column, cut, texts.length)];
        assert.deepEqual(textOf(parts[1]), texts.slice(cut));
        assert.deepEqual(textOf(concatText(parts)), texts);
      }
    });
  }
  await t.step("a byte that is not UTF-8 reads as U+FFFD in its own row only", () => {
    const column = bytesOf(["a", "b", "c"]);
    column.bytes[1] = 0xff;
    assert.deepEqual(textOf(column), ["a", "\ufffd", "c"]);
  });
  await t.step("bytesBehind: the bytes of the very array textOf made from ASCII, and nothing else", () => {
    const ascii = bytesOf(["a", null, "bc"]);
    assert.equal(bytesBehind(textOf(ascii)), ascii);
    assert.equal(bytesBehind([...textOf(ascii)]), undefined);
    assert.equal(bytesBehind(["a", null, "bc"]), undefined);
    // A byte that is not UTF-8 reads as U+FFFD: the strings are not the bytes.
    const invalid = bytesOf(["a", "b"]);
    invalid.bytes[1] = 0xff;
    assert.equal(bytesBehind(textOf(invalid)), undefined);
    assert.equal(bytesBehind(textOf(bytesOf(["héllo"]))), undefined);
  });
  await t.step("isTextBytes tells text bytes from value arrays", () => {
    assert.equal(isTextBytes(bytesOf(["a"])), true);
    assert.equal(isTextBytes(["a"]), false);
    assert.equal(isTextBytes(new Float64Array(1)), false);
  });
});
