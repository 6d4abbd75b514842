/**
 * Rows becoming the course's events (pure).
 */
import assert from "node:assert/strict";
import { rowEvents } from "../../src/queue/row_events.ts";
import type { RowBatch } from "../../src/rows.ts";
import { parseJson } from "../../src/value_codec.ts";

const decode = (b: Uint8Array) => parseJson(new TextDecoder().decode(b));

Deno.test("rowEvents", async (t) => {
  const parquetLike: RowBatch = {
    offset: 100,
    length: 2,
    columns: { PULocationID: [130n, 7n], DOLocationID: [205n, 8n], trip_distance: [3.66, 1], ride_id: [256n, 257n] },
  };
  const types = { PULocationID: "int64", DOLocationID: "int64", trip_distance: "float64", ride_id: "int64" } as const;
  const cases = [
    {
      name: "the course's shape, bigints as numbers, the id as message_id",
      batch: parquetLike,
      shape: { envelope: "ride", idColumn: "ride_id" },
      want: [
        ["256", { ride: { PULocationID: 130, DOLocationID: 205, trip_distance: 3.66 }, ride_id: 256 }],
        ["257", { ride: { PULocationID: 7, DOLocationID: 8, trip_distance: 1 }, ride_id: 257 }],
      ],
    },
    {
      name: "no envelope",
      batch: { ...parquetLike, length: 1 },
      shape: { envelope: "", idColumn: "ride_id" },
      want: [["256", { PULocationID: 130, DOLocationID: 205, trip_distance: 3.66, ride_id: 256 }]],
    },
    {
      name: "no id column: the row number (skipped rows counted)",
      batch: { offset: 10, length: 2, rowNumbers: [10, 12], columns: { trip_distance: [1, 2] } },
      shape: { envelope: "ride", idColumn: "ride_id" },
      want: [["10", { ride: { trip_distance: 1 }, ride_id: 10 }], ["12", { ride: { trip_distance: 2 }, ride_id: 12 }]],
    },
    {
      name: "CSV text: numbers as numbers, blanks as null, words and zero-padded codes as text",
      batch: {
        offset: 0,
        length: 1,
        columns: { a: ["130"], b: ["3.66"], c: [""], d: ["N"], e: ["007"], ride_id: ["r-1"] },
      },
      shape: { envelope: "ride", idColumn: "ride_id", inferNumbers: true },
      want: [["r-1", { ride: { a: 130, b: 3.66, c: null, d: "N", e: "007" }, ride_id: "r-1" }]],
    },
    {
      name: "int64 ids beyond 2^53 stay exact, as JSON numbers with all their digits and in the message_id",
      batch: {
        offset: 0,
        length: 3,
        columns: { trip_distance: [1, 2, 3], ride_id: [9007199254740993n, 9007199254740992n, 9007199254740991n] },
      },
      shape: { envelope: "ride", idColumn: "ride_id" },
      want: [
        ["9007199254740993", { ride: { trip_distance: 1 }, ride_id: 9007199254740993n }],
        ["9007199254740992", { ride: { trip_distance: 2 }, ride_id: 9007199254740992n }],
        ["9007199254740991", { ride: { trip_distance: 3 }, ride_id: 9007199254740991 }],
      ],
    },
    {
      name:
        "CSV integer text beyond 2^53 keeps all its digits (ids and features); safe integers and decimals are numbers",
      batch: {
        offset: 0,
        length: 3,
        columns: {
          a: ["12345678901234567890", "-9007199254740992", "1.5e300"],
          ride_id: ["9007199254740993", "9007199254740992", "-9007199254740991"],
        },
      },
      shape: { envelope: "ride", idColumn: "ride_id", inferNumbers: true },
      want: [
        ["9007199254740993", { ride: { a: 12345678901234567890n }, ride_id: 9007199254740993n }],
        ["9007199254740992", { ride: { a: -9007199254740992n }, ride_id: 9007199254740992n }],
        ["-9007199254740991", { ride: { a: 1.5e300 }, ride_id: -9007199254740991 }],
      ],
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const got = rowEvents(c.batch as RowBatch, {
        ...types,
        a: "string",
        b: "string",
        c: "string",
        d: "string",
        e: "string",
      }, c.shape);
      assert.deepEqual(got.map((e) => [e.messageId, decode(e.body)]), c.want);
    });
  }
});
