/**
 * CSV files of rides with rows that break the format, for the CSV source's tests and `score batch`'s: each good row
 * holds its own row index (`row`), so what is read, rejected and predicted can be checked row by row.
 */

/** The header of every file here. */
export const HEADER = "row,PULocationID,DOLocationID,trip_distance,note";

/** The `note` of a good row that has no note of its own. */
export const NOTE = "-";

/** Row `i` of a file, well formed, without its line ending. */
export function goodRow(i: number, note = NOTE): string {
  return `${i},${1 + (i % 250)},${1 + ((i * 7) % 250)},${(i % 50) / 4 + 0.5},${note}`;
}

/** A row whose quote opens and never closes on its line. */
export function unterminated(i: number): string {
  return `${i},"${1 + (i % 250)},${1 + ((i * 7) % 250)},${(i % 50) / 4 + 0.5},${NOTE}`;
}

export interface BrokenCsv {
  name: string;
  text: string;
  /** The rows read (good and rejected). */
  rows: number;
  /** The rejected rows (0-based) and what their messages say. */
  rejects: [number, RegExp][];
  /** Good rows whose `note` is not {@linkcode NOTE} (by row). */
  notes?: Record<number, string>;
}

/** Lines `0..rows-1`, `line(i)` where it gives one, each ended by `ending(i)` (LF by default). */
function lines(
  rows: number,
  line: (i: number) => string | undefined,
  ending: (i: number) => string = () => "\n",
): string {
  let text = HEADER + ending(-1);
  for (let i = 0; i < rows; i++) text += (line(i) ?? goodRow(i)) + ending(i);
  return text;
}

const UNCLOSED = /^Cannot parse row \d+: unterminated quote: the quote opened on this line never closes/;

/** The files, each with what reading it must give. */
export const BROKEN_CSVS: BrokenCsv[] = [
  {
    name: "an unterminated quote at row 11 of 30,000",
    text: lines(30_000, (i) => (i === 10 ? unterminated(i) : undefined)),
    rows: 30_000,
    rejects: [[10, UNCLOSED]],
  },
  {
    name: "CRLF line endings switching to LF after 1,000 rows",
    text: lines(30_000, () => undefined, (i) => (i < 1000 ? "\r\n" : "\n")),
    rows: 30_000,
    rejects: [],
  },
  {
    name: "LF line endings with lone CRs among them",
    text: lines(30_000, () => undefined, (i) => (i >= 2000 && i < 2010 ? "\r" : "\n")),
    rows: 30_000,
    rejects: [],
  },
  {
    name: "a bad row near the end",
    text: lines(30_000, (i) => (i === 29_990 ? unterminated(i) : undefined)),
    rows: 30_000,
    rejects: [[29_990, UNCLOSED]],
  },
  {
    name: "two bad rows: a quote left open, and the later quote it would close on followed by text",
    text: lines(30_000, (i) => (i === 100 ? unterminated(i) : i === 20_000 ? `"${i}"x,1,2,3,` : undefined)),
    rows: 30_000,
    rejects: [
      [
        100,
        /^Cannot parse row 101: unterminated quote: the quote opened on this line closes on a later line, followed by "2"/,
      ],
      [20_000, /^Cannot parse row 20001: a closing quote is followed by "x" \(a quote inside quotes is ""\)$/],
    ],
  },
  {
    name: "a ragged row",
    text: lines(30_000, (i) => (i === 500 ? `${i},1` : undefined)),
    rows: 30_000,
    rejects: [[500, /^Cannot parse row 501: it has 2 fields, the header has 5$/]],
  },
  {
    name: "a bad quote in the last row, at the end of the file",
    text: lines(30_000, () => undefined).trimEnd().replace(/[^\n]*$/, `29999,"1,2,3,-`),
    rows: 30_000,
    rejects: [[29_999, /^Cannot parse row 30000: unterminated quote$/]],
  },
  {
    name: "a bad quote in the last row, before its line ending",
    text: lines(30_000, (i) => (i === 29_999 ? unterminated(i) : undefined)),
    rows: 30_000,
    rejects: [[29_999, UNCLOSED]],
  },
  {
    name: "a quoted field with a line break in it, read by DuckDB",
    text: lines(30_000, (i) => (i === 50 ? goodRow(i, '"first line\nsecond, ""quoted"" line"') : undefined)),
    rows: 30_000,
    rejects: [],
    notes: { 50: 'first line\nsecond, "quoted" line' },
  },
  {
    name: "a quoted field with a line break in it, after a bad row",
    text: lines(
      30_000,
      (i) => (i === 40 ? `${i},1` : i === 50 ? goodRow(i, '"first line\r\nsecond line"') : undefined),
      (i) => (i < 1000 ? "\r\n" : "\n"),
    ),
    rows: 30_000,
    rejects: [[40, /^Cannot parse row 41: it has 2 fields, the header has 5$/]],
    notes: { 50: "first line\r\nsecond line" },
  },
];
