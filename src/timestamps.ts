/**
 * Timestamps finer than a `Date` holds. A `Date` keeps milliseconds; Parquet
 * and Postgres keep microseconds, and Postgres has `infinity` and years
 * before 1. A timestamp a `Date` holds exactly stays a `Date` (nearly all of
 * them); any other is carried as its text, which every writer takes as it
 * is: ISO 8601 with six decimals (`2021-02-01T10:00:00.123456`, with `Z`
 * when it has a zone), or Postgres's own words (`infinity`,
 * `0044-03-15 10:00:00 BC`). A text survives a trip to a worker thread,
 * where a `Date` subclass would not.
 */

/**
 * A timestamp of `micros` microseconds since 1970 (UTC): a `Date` when whole milliseconds, else its ISO text.
 *
 * @example
 * ```ts
 * timestampOf(1612173600123000n, false); // Date 2021-02-01T10:00:00.123Z
 * timestampOf(1612173600123456n, false); // "2021-02-01T10:00:00.123456"
 * ```
 */
export function timestampOf(micros: bigint | number, zoned: boolean): Date | string {
  // Microseconds since 1970 are a safe integer until the year 2255: number arithmetic, no BigInt a value.
  const n = Number(micros);
  let date: Date;
  let rest: number;
  if (Number.isSafeInteger(n)) {
    const ms = Math.floor(n / 1000);
    date = new Date(ms);
    rest = n - ms * 1000;
  } else {
    const big = BigInt(micros);
    const ms = big / 1000n - (big % 1000n < 0n ? 1n : 0n);
    date = new Date(Number(ms));
    rest = Number(big - ms * 1000n);
  }
  // Past a Date's range (year 275760, DuckDB's ends at 294247): no text either; an invalid Date, as a null is written.
  if (rest === 0 || Number.isNaN(date.getTime())) return date;
  const iso = date.toISOString(); // ...T10:00:00.123Z
  return `${iso.slice(0, -1)}${String(rest).padStart(3, "0")}${zoned ? "Z" : ""}`;
}

/**
 * A Postgres timestamp's text (as the server prints it in UTC) as a value: a `Date` when one holds it, else the
 * ISO text of its microseconds, or the server's own text (`infinity`, a date before year 1).
 *
 * @example
 * ```ts
 * pgTimestamp("2021-02-01 10:00:00.123", false); // Date 2021-02-01T10:00:00.123Z
 * pgTimestamp("2021-02-01 10:00:00.654321+00", true); // "2021-02-01T10:00:00.654321Z"
 * pgTimestamp("infinity", false); // "infinity"
 * ```
 */
export function pgTimestamp(text: string, zoned: boolean): Date | string {
  const m = PG_TIMESTAMP.exec(text);
  if (m === null) return text;
  const [, day, time, fraction = "", offset] = m;
  const iso = `${day}T${time}${fraction.length > 0 ? "." + fraction : ""}`;
  if (fraction.length > 3 && !/^0+$/.test(fraction.slice(3))) {
    // A zone other than UTC: the connection asks for UTC, but keep what was said.
    return zoned ? iso + (offset === undefined || /^\+00(:?00)?$/.test(offset) ? "Z" : offset) : iso;
  }
  return new Date(`${day}T${time}.${fraction.slice(0, 3).padEnd(3, "0")}${zoned && offset ? zone(offset) : "Z"}`);
}

/**
 * A Postgres date's text as a value: a `Date` (midnight UTC) where one holds it, else the server's own text
 * (`infinity`, a date before year 1).
 *
 * @example
 * ```ts
 * pgDate("2021-02-01"); // Date 2021-02-01T00:00:00.000Z
 * pgDate("0044-03-15 BC"); // "0044-03-15 BC"
 * ```
 */
export function pgDate(text: string): Date | string {
  if (!/^\d{4}-\d\d-\d\d$/.test(text)) return text;
  const date = new Date(`${text}T00:00:00Z`);
  return Number.isNaN(date.getTime()) ? text : date;
}

/** `YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]]`, a year of four digits at least; nothing else (no BC). */
const PG_TIMESTAMP = /^(\d{4,}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?([+-]\d\d(?::?\d\d){0,2})?$/;

function zone(offset: string): string {
  const [h, m = "00"] = offset.slice(1).split(":");
  return `${offset[0]}${h}:${m.padStart(2, "0")}`;
}

/**
 * A timestamp value's microseconds since 1970, for a writer that stores them (Parquet): a `Date`'s, or an ISO text's
 * (six decimals kept); null for what is no instant (`infinity`, a text it cannot read).
 *
 * @example
 * ```ts
 * epochMicros("2021-02-01T10:00:00.123456"); // 1612173600123456n
 * ```
 */
export function epochMicros(v: unknown): bigint | null {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : BigInt(v.getTime()) * 1000n;
  if (typeof v === "bigint") return v * 1000n;
  if (typeof v === "number") return Number.isFinite(v) ? BigInt(Math.round(v)) * 1000n : null;
  const m = ISO.exec(String(v));
  if (m === null) {
    const ms = new Date(String(v)).getTime();
    return Number.isNaN(ms) ? null : BigInt(ms) * 1000n;
  }
  const [, head, fraction = "", zoneText = "Z"] = m;
  const ms = new Date(`${head}.${fraction.slice(0, 3).padEnd(3, "0")}${zoneText === "Z" ? "Z" : zone(zoneText)}`)
    .getTime();
  if (Number.isNaN(ms)) return null;
  return BigInt(ms) * 1000n + BigInt(fraction.slice(3, 6).padEnd(3, "0"));
}

/** An ISO 8601 timestamp with up to nine decimals (the ones past six are dropped), `Z`, an offset, or no zone. */
const ISO = /^(\d{4,}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d(?::?\d\d)?)?$/;
