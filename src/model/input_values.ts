/**
 * One input's tensor data for a batch: its K value columns (or the packed
 * lists of JSON's array form) coerced to the input's type and laid out row
 * by row, with a failure per bad value naming its column.
 */
import { coerceColumn, type Coerced, type TensorData } from "./coerce.ts";
import type { InputSpec } from "./specs.ts";
import type { InputFeed } from "./resolve_inputs.ts";

/** A value that rejects its row. */
export interface ValueFailure {
  index: number;
  /** The column that holds it (for the array form, the list's column). */
  column: string;
  value: unknown;
  /** Why, as coercion says it: `is not a number`, `is missing`, `is not a list of 4 values`. */
  reason: string;
  /** Which value of the list was bad, for the array form. */
  item?: number;
}

/**
 * Coerces `length` rows of one input into its flat tensor data (`length × K` values).
 *
 * @example
 * ```ts
 * const { data, failures } = inputValues(input, { listColumn: "float_input" }, columns, 2);
 * ```
 */
export function inputValues(
  input: InputSpec,
  source: InputFeed,
  columns: Readonly<Record<string, ArrayLike<unknown>>>,
  length: number,
): { data: TensorData; failures: ValueFailure[] } {
  const k = input.columns.length;
  const failures: ValueFailure[] = [];
  const split = source.columns?.map((c) => columns[c]);
  let perValue: ArrayLike<unknown>[];
  let packedRow: Uint8Array | undefined;
  if (source.listColumn === undefined) perValue = split!;
  else {
    const packed = columns[source.listColumn];
    perValue = Array.from({ length: k }, () => new Array(length));
    packedRow = new Uint8Array(length);
    for (let r = 0; r < length; r++) {
      const v = packed[r];
      if (Array.isArray(v) && v.length === k) {
        packedRow[r] = 1;
        for (let j = 0; j < k; j++) (perValue[j] as unknown[])[r] = v[j];
      } else if ((v === undefined || v === null) && split !== undefined) {
        for (let j = 0; j < k; j++) (perValue[j] as unknown[])[r] = split[j][r];
      } else if (v === undefined || v === null) {
        // A missing list is K missing values: NaN for a float input that is not required, else a reject.
        packedRow[r] = 2;
        for (let j = 0; j < k; j++) (perValue[j] as unknown[])[r] = null;
      } else {
        packedRow[r] = 1;
        failures.push({ index: r, column: source.listColumn, value: v, reason: `is not a list of ${k} values` });
      }
    }
  }
  const coerced = perValue.map((values) => coerceColumn(values, input.type, { required: input.required }));
  if (!input.vector) coerced[0] = unwrapOneItemLists(perValue[0], coerced[0], input);
  for (let j = 0; j < k; j++) {
    for (const f of coerced[j].failures) {
      const form = packedRow?.[f.index];
      if (form === 2) {
        if (j === 0) failures.push({ index: f.index, column: source.listColumn!, value: null, reason: "is missing" });
      } else if (form === 1) {
        failures.push({ index: f.index, column: source.listColumn!, value: f.value, reason: f.reason, item: j });
      } else failures.push({ index: f.index, column: source.columns![j], value: f.value, reason: f.reason });
    }
  }
  return { data: interleave(coerced.map((c) => c.data), length), failures };
}

/**
 * An `[N,1]` input's value given as a list of one (`{"input": [0.5]}`, as a tensor's row is written) is that
 * value. Only values that failed are looked at, so a column of plain values costs nothing more.
 */
function unwrapOneItemLists(values: ArrayLike<unknown>, coerced: Coerced, input: InputSpec): Coerced {
  if (!coerced.failures.some((f) => Array.isArray(f.value) && f.value.length === 1)) return coerced;
  const unwrapped = Array.from(values);
  for (const f of coerced.failures) if (Array.isArray(f.value) && f.value.length === 1) unwrapped[f.index] = f.value[0];
  return coerceColumn(unwrapped, input.type, { required: input.required });
}

/** K columns of `length` values as one row-major array. */
function interleave(parts: TensorData[], length: number): TensorData {
  if (parts.length === 1) return parts[0];
  const k = parts.length;
  const first = parts[0];
  const out = Array.isArray(first)
    ? new Array<string>(length * k)
    : new (first.constructor as new (n: number) => Exclude<TensorData, string[]>)(length * k);
  // Row by row, in blocks of rows: the writes are sequential and each block's reads stay in cache (a column at a
  // time would write with a stride of K, touching every cache line of the output K times).
  const o = out as unknown as { [i: number]: unknown };
  const cols = parts as unknown as ArrayLike<unknown>[];
  const block = 256;
  for (let r0 = 0; r0 < length; r0 += block) {
    const r1 = Math.min(length, r0 + block);
    for (let j = 0; j < k; j++) {
      const part = cols[j];
      for (let r = r0, at = r0 * k + j; r < r1; r++, at += k) o[at] = part[r];
    }
  }
  return out;
}
