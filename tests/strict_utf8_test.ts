import assert from "node:assert/strict";
import { strictUtf8 } from "../src/strict_utf8.ts";
import { random } from "./sources/random_csv.ts";

Deno.test("strictUtf8 decodes as a fatal TextDecoder does", async (t) => {
  const utf8 = new TextEncoder();
  await t.step("text, a U+FFFD the bytes hold as itself, a byte order mark kept or dropped", () => {
    const cases: [string, Uint8Array, boolean, string][] = [
      ["ASCII", utf8.encode("a,b"), false, "a,b"],
      ["beyond ASCII", utf8.encode("π → 😀"), false, "π → 😀"],
      ["a U+FFFD of its own", utf8.encode("ok\uFFFD"), false, "ok\uFFFD"],
      ["a BOM, dropped", utf8.encode("\uFEFFa"), false, "a"],
      ["a BOM, kept", utf8.encode("\uFEFFa"), true, "\uFEFFa"],
    ];
    for (const [name, bytes, ignoreBOM, want] of cases) assert.equal(strictUtf8({ ignoreBOM })(bytes), want, name);
  });
  await t.step("bytes that are not UTF-8 throw, beside a U+FFFD of the text's own too", () => {
    const cases: [string, number[]][] = [
      ["a Latin-1 byte", [0x63, 0x61, 0x66, 0xe9]],
      ["a character cut short", [0x61, 0xe2, 0x82]],
      ["a surrogate's bytes", [0xed, 0xa0, 0x80]],
      ["a U+FFFD, then a stray byte", [...utf8.encode("\uFFFD"), 0xff]],
    ];
    for (const [name, bytes] of cases) assert.throws(() => strictUtf8()(new Uint8Array(bytes)), TypeError, name);
  });
  await t.step("the same text or the same failure on 20,000 random byte strings", () => {
    const next = random(3);
    const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    const strict = strictUtf8({ ignoreBOM: true });
    // Bytes drawn mostly from what UTF-8 is made of, so that many strings are valid and many are not.
    const pool = [0x61, 0x2c, 0x0a, 0xef, 0xbf, 0xbd, 0xe2, 0x82, 0xac, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80, 0xff, 0xed];
    let valid = 0;
    for (let n = 0; n < 20_000; n++) {
      const bytes = new Uint8Array(
        Array.from({ length: Math.floor(next() * 8) }, () => pool[Math.floor(next() * pool.length)]),
      );
      let want: string | undefined;
      try {
        want = fatal.decode(bytes);
      } catch { /* not UTF-8 */ }
      if (want === undefined) assert.throws(() => strict(bytes), TypeError, String(bytes));
      else {
        assert.equal(strict(bytes), want, String(bytes));
        valid++;
      }
    }
    assert.ok(valid > 2_000 && valid < 18_000, `${valid} valid`);
  });
});
