/**
 * The CSV source hands a column the model reads as numbers over as numbers only where its reader (the file's bytes,
 * parsed by `plain_numbers.ts`) reads the same number the model's coercion makes of the text: on every short text of the characters numbers are written with, a value
 * that comes as a number equals the coercion's, and any other comes as its own text.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { coerceColumn } from "../../src/model/coerce.ts";
import type { NumberType } from "../../src/sources/mod.ts";
import { openCsvSource } from "../../src/sources/csv_source.ts";
import { tempDir } from "../helpers.ts";

/** Every text of up to `length` of `alphabet`, and the empty one. */
function texts(alphabet: string[], length: number): string[] {
  const out = [""];
  let level = [""];
  for (let n = 1; n <= length; n++) {
    level = level.flatMap((s) => alphabet.map((c) => s + c));
    out.push(...level);
  }
  return out;
}

const CORPUS = [
  ...texts(["0", "1", "9", "+", "-", ".", "e", "E"], 5),
  ...texts(["0", "1", "+", "-", ".", "e", "_", " ", "\t", "x", "b", "i", "n", "f", "a", "d"], 3),
  ...["inf", "-inf", "Infinity", "nan", "NaN", "0x1F", "0b101", "0o17", "1_000", "1__0", "١٢", "\u00a01", "1\u00a0"],
  ...["+.5", "1e+5", "1.e5", ".5e-3", "1e309", "-1e309", "2e-324", "4.9e-324", "1.7976931348623157e308", "-0"],
  ...["1e39", "-1e39", "3.4028236e38", "3.4028234e38", "1e-46", "1.5e+308"],
  ...["9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809"],
  ...["2147483647", "2147483648", "-2147483648", "-2147483649", "12345678901234567890", "007", "+7", "5.0"],
];

Deno.test("CSV number columns: the reader's numbers are the coercion's", async (t) => {
  await using dir = await tempDir();
  const path = join(dir.path, "corpus.csv");
  const quoted = (s: string) => `"${s.replaceAll('"', '""')}"`;
  // The worker reads the file (inProcessMaxBytes 0), or the job's thread does.
  await Deno.writeTextFile(path, "row,x\n" + CORPUS.map((s, i) => `${i},${quoted(s)}\n`).join(""));
  const readers = [["the worker", 0], ["in process", Infinity]] as const;
  for (const [reader, inProcessMaxBytes] of readers) {
    for (const type of ["int64", "int32", "float64", "float32"] satisfies NumberType[]) {
      await t.step(`${type}, ${reader}`, async () => {
        const source = await openCsvSource(path, { inProcessMaxBytes });
        const values: unknown[] = [];
        for await (const batch of source.batches({ batchSize: 50_000, numbers: { x: type } })) {
          values.push(...Array.from(batch.columns.x));
        }
        await source.close();
        assert.equal(values.length, CORPUS.length);
        const wrong: string[] = [];
        const numbers = new Set<string>();
        values.forEach((v, i) => {
          const text = CORPUS[i];
          if (typeof v === "string") {
            if (v !== text) wrong.push(`${JSON.stringify(text)} came as the text ${JSON.stringify(v)}`);
            return;
          }
          numbers.add(text);
          const coerced = coerceColumn([text], type);
          const expected = coerced.failures.length > 0 ? "a rejection" : coerced.data[0];
          // A number comes alone (a plain array) or with a whole batch of numbers (a typed array): the same either way.
          const typed = typeof v === "bigint" ? new BigInt64Array([v]) : new Float64Array([v as number]);
          for (const given of [[v], typed]) {
            const got = coerceColumn(given, type);
            const value = got.failures.length > 0 ? "a rejection" : got.data[0];
            if (!Object.is(value, expected)) {
              wrong.push(
                `${JSON.stringify(text)}: the reader ${value} (${given.constructor.name}), the coercion ${expected}`,
              );
            }
          }
        });
        assert.deepEqual(wrong, []);
        // Plain numbers take the fast path.
        const plain = [
          "0",
          "19",
          "-91",
          "10990",
          ...(type.startsWith("float") ? ["1.9", "+.9", ".9e-1", "1E+9", "-0"] : []),
        ];
        assert.deepEqual(plain.filter((text) => !numbers.has(text)), []);
      });
    }
  }
});
