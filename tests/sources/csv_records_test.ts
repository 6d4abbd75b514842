import assert from "node:assert/strict";
import { InputError } from "../../src/errors.ts";
import { type CsvRecord, CsvRecords } from "../../src/sources/csv_records.ts";
import { rejection } from "../helpers.ts";

/** `text` cut into chunks of `size` characters. */
function chunks(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/** The header's fields and the records after it, as `CsvRecords` reads `text` in chunks of `size`. */
async function read(text: string, size = 1 << 16, maxRecordChars?: number): Promise<[string[], CsvRecord[]]> {
  const records = new CsvRecords(chunks(text, size).values(), ",", { maxRecordChars });
  const header = await records.next();
  assert.ok(header !== undefined && header.error === undefined, JSON.stringify(header));
  records.width = header.fields.length;
  const out: CsvRecord[] = [];
  for (let r; (r = await records.next()) !== undefined;) out.push(r);
  return [header.fields, out];
}

const OPEN = "unterminated quote: the quote opened on this line";

const row = (...fields: string[]): CsvRecord => ({ fields });
const bad = (error: string, data: unknown): CsvRecord => ({ error, data });

Deno.test("CSV records", async (t) => {
  const cases: [string, string, CsvRecord[]][] = [
    ["quoted fields hold delimiters, quotes and line breaks", 'a,b\n1,"x, ""y""\nz"\n', [row("1", 'x, "y"\nz')]],
    ["LF, CRLF and lone CR end lines wherever they change", "a,b\r\n1,2\n3,4\r5,6\r\n7,8", [
      row("1", "2"),
      row("3", "4"),
      row("5", "6"),
      row("7", "8"),
    ]],
    ["blank lines are skipped, a line of spaces is not blank", "a,b\n\n1,2\r\n\r\n \n3,4\n", [
      row("1", "2"),
      bad("it has 1 fields, the header has 2", [" "]),
      row("3", "4"),
    ]],
    ["spaces around quotes go, spaces in an unquoted field stay", 'a,b\n "x" , y \n', [row("x", " y ")]],
    ["a quote inside an unquoted field is text", 'a,b\n1,ab"c\n', [row("1", 'ab"c')]],
    ["empty fields past the header's width are dropped, others reject the row", 'a,b\n1,2,\n3,4,"",\n5,6,7\n', [
      row("1", "2"),
      row("3", "4"),
      bad("it has 3 fields, the header has 2", ["5", "6", "7"]),
    ]],
    ["a closing quote followed by text: that row alone", 'a,b\n1,"x"y\n2,z\n', [
      bad('a closing quote is followed by "y" (a quote inside quotes is "")', '1,"x"y'),
      row("2", "z"),
    ]],
    ["a quote that never closes: its line alone, the next lines read", 'a,b\n1,"x\n2,y\n3,z\n', [
      bad(`${OPEN} never closes`, '1,"x'),
      row("2", "y"),
      row("3", "z"),
    ]],
    ["a quote that closes on a later line followed by text: its line alone", 'a,b\n1,"x\n2,y\n"3"z,w\n', [
      bad(`${OPEN} closes on a later line, followed by "3"`, '1,"x'),
      row("2", "y"),
      bad('a closing quote is followed by "z" (a quote inside quotes is "")', '"3"z,w'),
    ]],
    ["a quote whose lines make a row of the wrong width: its line alone", 'a,b\n1,"x\n2,y",3\n4,z\n', [
      bad(`${OPEN} closes on a later line, into a row of 3 fields, the header has 2`, '1,"x'),
      bad("it has 3 fields, the header has 2", ["2", 'y"', "3"]),
      row("4", "z"),
    ]],
    ["a quote left open on the last line, without a line ending", 'a,b\n1,2\n3,"x', [
      row("1", "2"),
      bad("unterminated quote", '3,"x'),
    ]],
  ];
  for (const [name, text, want] of cases) {
    await t.step(name, async () => {
      // Where a read ends never changes the records.
      for (const size of [1, 2, 3, 5, 8, 1 << 16]) {
        assert.deepEqual((await read(text, size))[1], want, `chunks of ${size}`);
      }
    });
  }
  await t.step("a quote not closed within the bound: its line alone; a line past it stops the reading", async () => {
    const text = `a,b\n1,"x\n${"2,y\n".repeat(100)}`;
    const [, records] = await read(text, 7, 64);
    assert.deepEqual(records[0], { error: `${OPEN} does not close within 0 MiB`, data: '1,"x' });
    assert.equal(records.length, 101);
    const err = await rejection(() => read(`a,b\n1,2\n3,${"x".repeat(100)}\n`, 7, 64));
    assert.ok(err instanceof InputError);
    assert.equal(err.message, "Cannot parse row 2: its line runs on for more than 0 MiB");
  });
});
