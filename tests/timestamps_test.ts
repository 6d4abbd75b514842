/**
 * Timestamps finer than a Date: a Date where one holds the value, else its text, and back to microseconds for a
 * writer that stores them.
 */
import assert from "node:assert/strict";
import { epochMicros, pgDate, pgTimestamp, timestampOf } from "../src/timestamps.ts";

Deno.test("timestampOf: a Date for whole milliseconds, else ISO text with six decimals", async (t) => {
  const cases: [string, bigint | number, boolean, Date | string][] = [
    ["whole milliseconds", 1612173600123000n, false, new Date("2021-02-01T10:00:00.123Z")],
    ["microseconds, naive", 1612173600123456n, false, "2021-02-01T10:00:00.123456"],
    ["microseconds, zoned", 1612173600000001n, true, "2021-02-01T10:00:00.000001Z"],
    ["before 1970", -1n, false, "1969-12-31T23:59:59.999999"],
    ["before 1970, whole", -1000n, false, new Date(-1)],
    ["as a number", 1612173600123456, false, "2021-02-01T10:00:00.123456"],
    ["beyond 2^53 (past the year 2255)", 9007199254740993n, false, "2255-06-05T23:47:34.740993"],
    ["past a Date's range", 9007199254740993001n, false, new Date(NaN)],
  ];
  for (const [name, micros, zoned, want] of cases) {
    await t.step(name, () => assert.deepEqual(timestampOf(micros, zoned), want));
  }
});

Deno.test("pgTimestamp: Postgres's text as a Date where one holds it, else as text", async (t) => {
  const cases: [string, string, boolean, Date | string][] = [
    ["whole seconds", "2021-02-01 10:00:00", false, new Date("2021-02-01T10:00:00Z")],
    ["milliseconds", "2021-02-01 10:00:00.12", false, new Date("2021-02-01T10:00:00.120Z")],
    ["microseconds", "2021-02-01 10:00:00.123456", false, "2021-02-01T10:00:00.123456"],
    [
      "microseconds that are whole milliseconds",
      "2021-02-01 10:00:00.123000",
      false,
      new Date("2021-02-01T10:00:00.123Z"),
    ],
    ["zoned, UTC", "2021-02-01 10:00:00.654+00", true, new Date("2021-02-01T10:00:00.654Z")],
    ["zoned, microseconds", "2021-02-01 10:00:00.654321+00", true, "2021-02-01T10:00:00.654321Z"],
    ["zoned, another offset", "2021-02-01 10:00:00+05:30", true, new Date("2021-02-01T04:30:00Z")],
    ["infinity", "infinity", false, "infinity"],
    ["-infinity", "-infinity", true, "-infinity"],
    ["before year 1", "0044-03-15 10:00:00 BC", false, "0044-03-15 10:00:00 BC"],
  ];
  for (const [name, text, zoned, want] of cases) {
    await t.step(name, () => assert.deepEqual(pgTimestamp(text, zoned), want));
  }
});

Deno.test("epochMicros: what a Parquet writer stores", async (t) => {
  const cases: [string, unknown, bigint | null][] = [
    ["a Date", new Date("2021-02-01T10:00:00.123Z"), 1612173600123000n],
    ["ISO text, six decimals", "2021-02-01T10:00:00.123456", 1612173600123456n],
    ["ISO text, Z", "2021-02-01T10:00:00.000001Z", 1612173600000001n],
    ["ISO text, nine decimals (the last three dropped)", "2021-02-01T10:00:00.123456789", 1612173600123456n],
    ["ISO text, an offset", "2021-02-01T10:00:00.5+01:00", 1612170000500000n],
    ["round trip of timestampOf", timestampOf(-1n, false), -1n],
    ["infinity: no instant", "infinity", null],
    ["an invalid Date", new Date(NaN), null],
  ];
  for (const [name, v, want] of cases) await t.step(name, () => assert.equal(epochMicros(v), want));
});

Deno.test("pgDate: a Date at midnight UTC where one holds it, else Postgres's text", async (t) => {
  const cases: [string, Date | string][] = [
    ["2021-02-01", new Date("2021-02-01T00:00:00Z")],
    ["infinity", "infinity"],
    ["-infinity", "-infinity"],
    ["0044-03-15 BC", "0044-03-15 BC"],
  ];
  for (const [text, want] of cases) await t.step(text, () => assert.deepEqual(pgDate(text), want));
});
