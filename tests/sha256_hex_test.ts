import assert from "node:assert/strict";
import { sha256Hex } from "../src/sha256_hex.ts";

Deno.test("sha256Hex: the digest of the bytes, the same for a buffer asked again or another of the same bytes", async (t) => {
  const cases: [string, string, string][] = [
    ["empty", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
    ["abc", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
  ];
  for (const [name, text, hex] of cases) {
    await t.step(name, () => {
      const bytes = new TextEncoder().encode(text);
      assert.equal(sha256Hex(bytes), hex);
      assert.equal(sha256Hex(bytes), hex);
      assert.equal(sha256Hex(new TextEncoder().encode(text)), hex);
    });
  }
});
