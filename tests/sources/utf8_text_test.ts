/**
 * The JavaScript readers' text: a file's UTF-8 decoded chunk by chunk, a character split between chunks kept whole,
 * and only the bytes that are not UTF-8 marked (a U+FFFD written as its UTF-8 bytes is the file's own text).
 */
import assert from "node:assert/strict";
import { NOT_UTF8, utf8Text } from "../../src/sources/utf8_text.ts";

async function decoded(chunks: number[][]): Promise<string> {
  let text = "";
  for await (
    const piece of utf8Text((async function* () {
      for (const c of chunks) yield new Uint8Array(c);
    })())
  ) text += piece;
  return text;
}

const PI = [0xcf, 0x80]; // π
const EURO = [0xe2, 0x82, 0xac]; // €
const FACE = [0xf0, 0x9f, 0x99, 0x82]; // 🙂
const REPLACEMENT = [0xef, 0xbf, 0xbd]; // U+FFFD as UTF-8

Deno.test("utf8Text", async (t) => {
  const cases: [string, number[][], string][] = [
    ["ASCII in one chunk", [[0x61, 0x0a, 0x62]], "a\nb"],
    ["a two-byte character split between chunks", [[0x61, PI[0]], [PI[1], 0x62]], "aπb"],
    ["a three-byte character split twice", [[EURO[0]], [EURO[1]], [EURO[2], 0x0a]], "€\n"],
    ["a four-byte character split after three bytes", [[0x61, ...FACE.slice(0, 3)], [FACE[3]]], "a🙂"],
    ["a U+FFFD the file holds is text", [[0x61, ...REPLACEMENT, 0x0a]], "a\uFFFD\n"],
    ["a byte order mark is kept (the readers drop it)", [[0xef, 0xbb, 0xbf, 0x61]], "\uFEFFa"],
    [
      "a Latin-1 byte is marked, on its line only",
      [[0x61, 0x0a, 0xe9, 0x0a, ...REPLACEMENT]],
      `a\n${NOT_UTF8}\n\uFFFD`,
    ],
    ["a lone continuation byte", [[0x61, 0x80, 0x62]], `a${NOT_UTF8}b`],
    ["a character cut off by the end of the file", [[0x61], [EURO[0], EURO[1]]], `a${NOT_UTF8}`],
    ["a character cut off by a line feed", [[EURO[0], 0x0a, 0x62]], `${NOT_UTF8}\nb`],
    ["no chunks", [], ""],
  ];
  for (const [name, chunks, want] of cases) {
    await t.step(name, async () => assert.equal(await decoded(chunks), want));
  }
});
