import assert from "node:assert/strict";
import {
  addPeriods,
  backfillWindows,
  parseTimestamp,
  type Period,
  periodWindow,
  windowLabel,
} from "../../src/batch/period_window.ts";
import { thrown } from "../helpers.ts";

const iso = (d: Date) => d.toISOString();

Deno.test("periodWindow: the previous whole period before --at", async (t) => {
  const cases: [Period, string, string, string][] = [
    ["hour", "2021-02-03T10:30:00Z", "2021-02-03T09:00:00.000Z", "2021-02-03T10:00:00.000Z"],
    ["hour", "2021-02-03T10:00:00Z", "2021-02-03T09:00:00.000Z", "2021-02-03T10:00:00.000Z"],
    ["hour", "2021-01-01T00:10:00Z", "2020-12-31T23:00:00.000Z", "2021-01-01T00:00:00.000Z"],
    ["day", "2021-02-03T10:30:00Z", "2021-02-02T00:00:00.000Z", "2021-02-03T00:00:00.000Z"],
    ["day", "2021-03-01T00:00:00Z", "2021-02-28T00:00:00.000Z", "2021-03-01T00:00:00.000Z"],
    ["day", "2020-03-01T05:00:00Z", "2020-02-29T00:00:00.000Z", "2020-03-01T00:00:00.000Z"],
    ["month", "2021-03-01T00:05:00Z", "2021-02-01T00:00:00.000Z", "2021-03-01T00:00:00.000Z"],
    ["month", "2021-03-31T23:59:59Z", "2021-02-01T00:00:00.000Z", "2021-03-01T00:00:00.000Z"],
    ["month", "2021-01-15T00:00:00Z", "2020-12-01T00:00:00.000Z", "2021-01-01T00:00:00.000Z"],
    // A zone other than UTC is converted first: 01:30+02:00 is 23:30 UTC the day before.
    ["day", "2021-02-03T01:30:00+02:00", "2021-02-01T00:00:00.000Z", "2021-02-02T00:00:00.000Z"],
  ];
  for (const [period, at, start, end] of cases) {
    await t.step(`${period} at ${at}`, () => {
      const w = periodWindow(period, new Date(at));
      assert.deepEqual([iso(w.start), iso(w.end)], [start, end]);
    });
  }
});

Deno.test("backfillWindows: every period in [from, to), in order", async (t) => {
  const cases: [Period, string, string, string[]][] = [
    ["month", "2021-01-01Z", "2021-04-01Z", ["2021-01", "2021-02", "2021-03"]],
    ["month", "2021-01-15Z", "2021-03-01Z", ["2021-01", "2021-02"]],
    ["month", "2021-01-01Z", "2021-03-02Z", ["2021-01", "2021-02", "2021-03"]],
    ["day", "2021-02-27Z", "2021-03-02Z", ["2021-02-27", "2021-02-28", "2021-03-01"]],
    ["hour", "2021-02-01T22:30:00Z", "2021-02-02T01:00:00Z", ["2021-02-01T22", "2021-02-01T23", "2021-02-02T00"]],
  ];
  for (const [period, from, to, labels] of cases) {
    await t.step(`${period} ${from} .. ${to}`, () => {
      const ws = backfillWindows(period, new Date(from), new Date(to));
      assert.deepEqual(ws.map((w) => windowLabel(period, w)), labels);
      for (let i = 0; i < ws.length; i++) {
        assert.equal(iso(ws[i].end), iso(addPeriods(period, ws[i].start, 1)), "each window is one period");
        if (i > 0) assert.equal(iso(ws[i].start), iso(ws[i - 1].end), "no gap, no overlap");
      }
    });
  }
  await t.step("from after to is a usage error", () => {
    const err = thrown(() => backfillWindows("day", new Date("2021-03-01Z"), new Date("2021-02-01Z")));
    assert.equal(err.name, "UsageError");
    assert.match(err.message, /--from .* must be before --to/);
  });
});

Deno.test("parseTimestamp: the forms --at, --from and --to take", async (t) => {
  const now = new Date("2021-05-05T05:05:05Z");
  const cases: [string, string | RegExp][] = [
    ["2021-03-01", "2021-03-01T00:00:00.000Z"],
    ["2021-03", "2021-03-01T00:00:00.000Z"],
    ["2021-03-01T05:00", "2021-03-01T05:00:00.000Z"],
    ["2021-03-01 05:00:07", "2021-03-01T05:00:07.000Z"],
    ["2021-03-01T05:00:00.250Z", "2021-03-01T05:00:00.250Z"],
    ["2021-03-01T05:00:00+02:00", "2021-03-01T03:00:00.000Z"],
    ["2021-03-01T05:00:00-0130", "2021-03-01T06:30:00.000Z"],
    ["now", "2021-05-05T05:05:05.000Z"],
    ["yesterday", /--at "yesterday" is not a timestamp/],
    ["2021-02-30", /not a timestamp/],
    ["2021-13-01", /not a timestamp/],
    ["1614556800", /not a timestamp/],
    // Impossible parts are refused in every form, with or without an offset (an offset once hid the roll-over).
    ["2021-02-30T00:00+02:00", /not a timestamp/],
    ["2021-02-29T00:00Z", /not a timestamp/],
    ["2021-02-29 10:00-05:00", /not a timestamp/],
    ["2020-02-29T00:00+02:00", "2020-02-28T22:00:00.000Z"],
    ["2021-04-31T12:00-0130", /not a timestamp/],
    ["2021-04-31", /not a timestamp/],
    ["2021-00-10", /not a timestamp/],
    ["2021-00", /not a timestamp/],
    ["2021-13", /not a timestamp/],
    ["2021-03-00T05:00+01", /not a timestamp/],
    ["2021-03-01T24:00", /not a timestamp/],
    ["2021-03-01T24:00+02:00", /not a timestamp/],
    ["2021-03-01T23:60-01:00", /not a timestamp/],
    ["2021-03-01T23:59:60+01:00", /not a timestamp/],
    ["2021-03-01T23:59:59.999+01:00", "2021-03-01T22:59:59.999Z"],
    ["2021-03-01T05:00+24:00", /not a timestamp/],
    ["2021-03-01T05:00+02:60", /not a timestamp/],
    ["2021-12-31T23:30-01:00", "2022-01-01T00:30:00.000Z"],
  ];
  for (const [text, want] of cases) {
    await t.step(text, () => {
      if (typeof want === "string") {
        assert.equal(iso(parseTimestamp(text, "--at", () => now)), want);
      } else {
        const err = thrown(() => parseTimestamp(text, "--at", () => now));
        assert.equal(err.name, "UsageError");
        assert.match(err.message, want);
      }
    });
  }
});
