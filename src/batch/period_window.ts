/**
 * Periodic windows: the whole hour, day or month a scheduled run scores,
 * and the list of them a backfill walks. All in UTC; a window is
 * half-open, [start, end).
 */
import { UsageError } from "../errors.ts";

/** A scheduling period. */
export type Period = "hour" | "day" | "month";

/** The periods `--period` accepts. */
export const PERIODS: readonly Period[] = ["hour", "day", "month"];

/** A half-open time range [start, end). */
export interface Window {
  start: Date;
  end: Date;
}

/**
 * The start of the period that contains `at`.
 *
 * @example
 * ```ts
 * periodStart("day", new Date("2021-02-03T10:30:00Z")); // 2021-02-03T00:00:00Z
 * ```
 */
export function periodStart(period: Period, at: Date): Date {
  const d = new Date(at.getTime());
  switch (period) {
    case "hour":
      d.setUTCMinutes(0, 0, 0);
      return d;
    case "day":
      d.setUTCHours(0, 0, 0, 0);
      return d;
    case "month":
      return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
  }
}

/**
 * `start` moved by `n` periods.
 *
 * @example
 * ```ts
 * addPeriods("month", new Date("2021-01-01T00:00:00Z"), 2); // 2021-03-01T00:00:00Z
 * ```
 */
export function addPeriods(period: Period, start: Date, n: number): Date {
  switch (period) {
    case "hour":
      return new Date(start.getTime() + n * 3_600_000);
    case "day":
      return new Date(
        Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate() + n, start.getUTCHours()),
      );
    case "month":
      return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + n, 1));
  }
}

/**
 * The previous whole period before `at`: what a run scheduled at `at`
 * scores. At 2021-03-01T00:05 a monthly run scores February.
 *
 * @example
 * ```ts
 * periodWindow("month", new Date("2021-03-01T00:05:00Z"));
 * // { start: 2021-02-01T00:00:00Z, end: 2021-03-01T00:00:00Z }
 * ```
 */
export function periodWindow(period: Period, at: Date): Window {
  const end = periodStart(period, at);
  return { start: addPeriods(period, end, -1), end };
}

/**
 * Every period in [from, to), in order: the first starts at the period
 * containing `from`, the last is the one that starts before `to`.
 *
 * @example
 * ```ts
 * backfillWindows("month", new Date("2021-01-01Z"), new Date("2021-04-01Z")).length; // 3
 * ```
 */
export function backfillWindows(period: Period, from: Date, to: Date, max = 100_000): Window[] {
  if (!(from < to)) throw new UsageError(`--from (${from.toISOString()}) must be before --to (${to.toISOString()})`);
  const out: Window[] = [];
  for (let start = periodStart(period, from); start < to; start = addPeriods(period, start, 1)) {
    if (out.length >= max) throw new UsageError(`--from .. --to spans more than ${max} ${period}s`);
    out.push({ start, end: addPeriods(period, start, 1) });
  }
  return out;
}

/**
 * Parses a timestamp flag: ISO 8601 with a zone, or without one (read as
 * UTC), a space instead of `T`, a date alone, or `now`.
 *
 * @example
 * ```ts
 * parseTimestamp("2021-03-01"); // 2021-03-01T00:00:00Z
 * parseTimestamp("2021-03-01 05:00"); // 2021-03-01T05:00:00Z
 * ```
 */
export function parseTimestamp(text: string, flag = "--at", now: () => Date = () => new Date()): Date {
  const s = text.trim();
  if (s.toLowerCase() === "now") return now();
  const m = /^(\d{4})-(\d{2})(?:-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i
    .exec(s);
  const bad = () => new UsageError(`${flag} "${text}" is not a timestamp (e.g. 2021-03-01, 2021-03-01T05:00:00Z, now)`);
  if (!m) throw bad();
  const [, y, mo, d = "01", h = "00", mi = "00", sec = "00", frac = "", zone = "Z"] = m;
  const z = zone.toUpperCase() === "Z"
    ? "Z"
    : zone.length === 3
    ? `${zone}:00`
    : zone.includes(":")
    ? zone
    : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  // Date() rolls 2021-02-30 over to March, and an offset hides the roll-over: check the parts themselves.
  const year = Number(y), month = Number(mo), day = Number(d);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const daysInMonth = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  const valid = month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && Number(h) <= 23 &&
    Number(mi) <= 59 && Number(sec) <= 59 && (z === "Z" || (Number(z.slice(1, 3)) <= 23 && Number(z.slice(4)) <= 59));
  if (!valid) throw bad();
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${sec}${frac}${z}`);
  if (Number.isNaN(date.getTime())) throw bad();
  return date;
}

/**
 * A window's start as a short label for file names: `2021-02` for a month,
 * `2021-02-03` for a day, `2021-02-03T05` for an hour.
 *
 * @example
 * ```ts
 * windowLabel("month", { start: new Date("2021-02-01Z"), end: new Date("2021-03-01Z") }); // "2021-02"
 * ```
 */
export function windowLabel(period: Period, w: Window): string {
  const iso = w.start.toISOString();
  return period === "month" ? iso.slice(0, 7) : period === "day" ? iso.slice(0, 10) : iso.slice(0, 13);
}
