/**
 * The producer's side of the course's stream: rows of a file become events
 * shaped like `{"ride": {...features}, "ride_id": 256}`.
 */
import type { RowBatch, ValueType } from "../rows.ts";
import { jsonText, jsonValue } from "../value_codec.ts";

/** How a row becomes an event. */
export interface EventShape {
  /** The key the features go under; "" puts them at the top level. */
  envelope: string;
  /** The column holding the event id; when the file has none, the row's 0-based index is the id. */
  idColumn: string;
  /**
   * CSV text: a value that reads as a JSON number is sent as a number, an empty field as null. An integer
   * beyond `Number.MAX_SAFE_INTEGER` is sent with all its digits, as a bigint is.
   */
  inferNumbers?: boolean;
}

/** One event ready to publish. */
export interface RowEvent {
  /** The id as text (the AMQP `message_id`). */
  messageId: string;
  body: Uint8Array;
}

const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
const INTEGER = /^-?(0|[1-9]\d*)$/;
const encoder = new TextEncoder();

/**
 * The events of one batch of rows, in order.
 *
 * @example
 * ```ts
 * const batch = { offset: 0, length: 1, columns: { PULocationID: [130n], trip_distance: [3.66], ride_id: [256n] } };
 * rowEvents(batch, { PULocationID: "int64", trip_distance: "float64", ride_id: "int64" }, { envelope: "ride", idColumn: "ride_id" });
 * // [{ messageId: "256", body: '{"ride":{"PULocationID":130,"trip_distance":3.66},"ride_id":256}' as bytes }]
 * ```
 */
export function rowEvents(batch: RowBatch, types: Record<string, ValueType>, shape: EventShape): RowEvent[] {
  const names = Object.keys(batch.columns).filter((c) => c !== shape.idColumn);
  const ids = batch.columns[shape.idColumn];
  const value = (name: string, v: unknown): unknown => {
    if (shape.inferNumbers && typeof v === "string") {
      if (v === "") return null;
      if (!NUMBER.test(v)) return v;
      const n = Number(v);
      return INTEGER.test(v) && !Number.isSafeInteger(n) ? BigInt(v) : n;
    }
    return jsonValue(v, types[name] ?? "json");
  };
  const events: RowEvent[] = [];
  for (let i = 0; i < batch.length; i++) {
    const features: Record<string, unknown> = {};
    for (const name of names) features[name] = value(name, batch.columns[name][i]);
    const id = ids === undefined ? (batch.rowNumbers?.[i] ?? batch.offset + i) : value(shape.idColumn, ids[i]);
    const event = shape.envelope === ""
      ? { ...features, [shape.idColumn]: id }
      : { [shape.envelope]: features, [shape.idColumn]: id };
    events.push({
      messageId: typeof id === "object" ? jsonText(id) : String(id),
      body: encoder.encode(jsonText(event)),
    });
  }
  return events;
}
