/**
 * A loaded ONNX model: its metadata and `predict`, which scores a batch of
 * rows given as columns in one `session.run`.
 *
 * This folder is the only importer of onnxruntime-node, and of ours imports only the shared files at src/'s top
 * (errors, the lazy loader, file reading), no other part: every transport scores through the same code.
 */
import type * as ort from "onnxruntime-node";
import { EXPECTED, type TensorData, type TensorType } from "./coerce.ts";
import { inputValues } from "./input_values.ts";
import { ModelError } from "./model_error.ts";
import { onnxruntime } from "./onnxruntime.ts";
import { type InputFeed, resolveInputs } from "./resolve_inputs.ts";
import type { InputSpec, OutputSpec } from "./specs.ts";
import type { Session } from "./session_client.ts";

/** A row that could not be scored, and why. */
export interface RowReject {
  /** Index of the row within the batch given to `predict`. */
  index: number;
  /** The column that holds the bad value. */
  column: string;
  value: unknown;
  /** E.g. `column "trip_distance" is not a number (got "abc")`. */
  message: string;
  /** Set when the value was read well but is a category the model has never seen (with `strictCategories`). */
  unknownCategory?: true;
}

/** What `predict` gives back. */
export interface Prediction {
  /** Indices of the scored rows within the batch, or null when every row was scored. */
  rows: Uint32Array | null;
  /** Output columns, one value per scored row. */
  columns: Record<string, ArrayLike<unknown>>;
  rejects: RowReject[];
  /**
   * Rows that carried a category the model has never seen (scored as the model scores it, or rejected when
   * the model is strict about categories); 0 for a model without known categories (absent where a prediction is
   * made of others).
   */
  unknownCategories?: number;
}

/** Options of one `predict` call. */
export interface PredictOptions {
  /** Only these outputs (ONNX output names); all tensor outputs by default. */
  outputs?: string[];
  /**
   * Most rows in one `session.run`: more rows are scored in runs of this
   * many, so the memory onnxruntime takes is bounded by it, not by the
   * request. Unset: every row in one run.
   */
  maxRunRows?: number;
}

/** The inputs resolved for a set of column names (see `Model.resolveInputs`). */
interface Resolved {
  names: readonly string[];
  sources: ReadonlyMap<string, Readonly<InputFeed>>;
  /** [canonical name, column] for each column feeding the model, in the inputs' order. */
  canonical: readonly [string, string][];
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** How many sets of column names a model keeps the resolved inputs of. */
const RESOLVED_KEPT = 64;

/** What `loadModel` hands the constructor. */
export interface ModelInit {
  session: Session;
  /** Whether `session` runs in a worker thread. */
  inWorker?: boolean;
  name: string;
  version: string;
  description: string;
  path: string;
  inputs: InputSpec[];
  outputs: OutputSpec[];
  fixedBatch: number | null;
  warnings: string[];
  /** Reject a row whose category the model has never seen (see `Model.strictCategories`). */
  strictCategories?: boolean;
}

/** One column of an input with known categories: where its values are and which the model knows. */
interface CategoryCheck {
  input: InputSpec;
  /** The column's place within a row of the input. */
  column: number;
  known: ReadonlySet<string> | ReadonlySet<bigint>;
  /** Rows with an unknown category in this column, since load. */
  unknown: number;
}

/**
 * A loaded model. Create it with `loadModel`.
 *
 * @example
 * ```ts
 * const model = await loadModel("models/ride-duration-linreg");
 * const p = await model.predict({ PULocationID: [10], DOLocationID: [50], trip_distance: [40] }, 1);
 * p.columns.duration[0]; // 26.43883355119793
 * ```
 */
export class Model {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly path: string;
  readonly inputs: readonly InputSpec[];
  /** Tensor outputs (a ZipMap's maps are rewritten to a tensor at load); other kinds are left out with a warning. */
  readonly outputs: readonly OutputSpec[];
  /**
   * The batch size the model fixes (e.g. 1 for `[1,K]` inputs), or null. `predict` takes any number of rows
   * either way: it runs them in runs of this size.
   */
  readonly fixedBatch: number | null;
  /** Things worth a log line, found while loading. */
  readonly warnings: readonly string[];
  /** Whether the model runs in a worker thread (see `loadModel`'s `worker`), not on the calling one. */
  readonly inWorker: boolean;
  /**
   * Whether a row whose category (of an input with known categories) the model has never seen is rejected,
   * naming column and value; else it is scored as the model scores it (a one-hot encoder ignores it).
   */
  readonly strictCategories: boolean;
  readonly #categoryChecks: CategoryCheck[];
  readonly #session: Session;
  /** resolveInputs' answers by the names asked about, joined. */
  readonly #resolved = new Map<string, Resolved>();
  #lastResolved: Resolved | undefined;

  constructor(init: ModelInit) {
    this.#session = init.session;
    this.name = init.name;
    this.version = init.version;
    this.description = init.description;
    this.path = init.path;
    this.inputs = init.inputs;
    this.outputs = init.outputs;
    this.fixedBatch = init.fixedBatch;
    this.warnings = init.warnings;
    this.inWorker = init.inWorker ?? false;
    this.strictCategories = init.strictCategories ?? false;
    this.#categoryChecks = init.inputs.flatMap((input) =>
      (input.categories ?? []).flatMap((known, column): CategoryCheck[] => {
        if (known === null || (input.type !== "string" && input.type !== "int64")) return [];
        const set = input.type === "string" ? new Set(known) : new Set(known.map((c) => BigInt(c)));
        return [{ input, column, known: set, unknown: 0 }];
      })
    );
  }

  /**
   * Rows with a category the model has never seen, per column of an input with known categories, since load.
   *
   * @example
   * ```ts
   * model.unknownCategoryCounts(); // [{ column: "brand", rows: 3 }, { column: "fuel_type", rows: 0 }]
   * ```
   */
  unknownCategoryCounts(): { column: string; rows: number }[] {
    return this.#categoryChecks.map((c) => ({ column: c.input.columns[c.column], rows: c.unknown }));
  }

  /** Every output column, in order, with its element type. */
  get outputColumns(): { name: string; type: TensorType }[] {
    return this.outputs.flatMap((o) => o.columns.map((name) => ({ name, type: o.type })));
  }

  /**
   * Finds the columns feeding each input: for an `[N]` input its column (`columns`, its name, its aliases); for an
   * `[N,K]` input its K columns and/or the column holding its values as lists. A name matches exactly, else the
   * one column equal ignoring case. Throws when any input has no column, naming them all and what is there.
   *
   * @example
   * ```ts
   * model.resolveInputs(["PULocationID", "DOLocationID", "trip_distance"]);
   * // Map { "PULocationID" => { columns: ["PULocationID"] }, ... }
   * ```
   */
  resolveInputs(available: Iterable<string>): ReadonlyMap<string, Readonly<InputFeed>> {
    return this.#resolve(Array.isArray(available) ? available : [...available]).sources;
  }

  /**
   * The columns that feed the model, under their canonical names (each input's `columns`, and its own name for
   * the list form), whatever names or case the batch used: batches keyed alike can be merged row by row.
   *
   * @example
   * ```ts
   * model.canonicalColumns({ Trip_Distance: [40], dee: [1] }); // { trip_distance: [40], d: [1] }
   * ```
   */
  canonicalColumns(columns: Readonly<Record<string, ArrayLike<unknown>>>): Record<string, ArrayLike<unknown>> {
    const out: Record<string, ArrayLike<unknown>> = {};
    for (const [name, column] of this.#resolve(Object.keys(columns)).canonical) out[name] = columns[column];
    return out;
  }

  /**
   * resolveInputs' answer for these names, and the canonical name of each column it uses. Every request and every
   * batch asks again with the same few sets of names: the answer is kept per set (not past RESOLVED_KEPT sets,
   * since names may come from callers), and shared, hence read-only.
   */
  #resolve(names: readonly string[]): Resolved {
    // Most calls ask about the names of the call before: compared name by name, without building a key.
    const last = this.#lastResolved;
    if (last !== undefined && sameNames(last.names, names)) return last;
    // Joined with a separator a name may hold, so a hit is checked name by name.
    const key = names.join("\0");
    const kept = this.#resolved.get(key);
    if (kept !== undefined && sameNames(kept.names, names)) return this.#lastResolved = kept;
    const sources = resolveInputs(this.name, this.inputs, names);
    const canonical: [string, string][] = [];
    for (const input of this.inputs) {
      const source = sources.get(input.name)!;
      if (source.listColumn !== undefined) canonical.push([input.name, source.listColumn]);
      source.columns?.forEach((c, k) => canonical.push([input.columns[k], c]));
    }
    const resolved = { names: [...names], sources, canonical };
    if (this.#resolved.size < RESOLVED_KEPT) this.#resolved.set(key, resolved);
    return this.#lastResolved = resolved;
  }

  /**
   * Scores `length` rows given as columns (extra columns are ignored). A
   * value that cannot be coerced to its input's type rejects that row only;
   * the other rows are scored in one `session.run` (in runs of `fixedBatch`
   * rows when the model fixes its batch size). A row gets the same bits
   * whatever else is in its batch.
   */
  async predict(
    columns: Readonly<Record<string, ArrayLike<unknown>>>,
    length: number,
    options: PredictOptions = {},
  ): Promise<Prediction> {
    const sources = this.resolveInputs(Object.keys(columns));
    const coerced = new Map<string, TensorData>();
    const rejects: RowReject[] = [];
    const bad = new Set<number>();
    for (const input of this.inputs) {
      const { data, failures } = inputValues(input, sources.get(input.name)!, columns, length);
      coerced.set(input.name, data);
      for (const f of failures) {
        if (bad.has(f.index)) continue;
        bad.add(f.index);
        const what = f.item === undefined ? `column "${f.column}"` : `column "${f.column}" value ${f.item}`;
        const list = input.vector && f.item === undefined && f.column === sources.get(input.name)!.listColumn;
        const expected = list ? `a list of ${input.columns.length} values` : EXPECTED[input.type];
        rejects.push({
          index: f.index,
          column: f.column,
          value: f.value,
          message: f.reason === "is missing"
            ? `${what} is missing (expected ${expected})`
            : `${what} ${f.reason} (got ${show(f.value)})`,
        });
      }
    }
    const unknownCategories = this.#categoryChecks.length === 0
      ? 0
      : this.#checkCategories(coerced, sources, length, bad, rejects);
    rejects.sort((a, b) => a.index - b.index);
    const rows = bad.size === 0 ? null : keptRows(length, bad);
    const n = rows === null ? length : rows.length;
    const selected = this.#selectOutputs(options.outputs);
    if (n === 0) {
      return {
        rows,
        columns: Object.fromEntries(selected.flatMap((o) => o.columns.map((c) => [c, []]))),
        rejects,
        unknownCategories,
      };
    }
    const data = new Map<string, TensorData>();
    for (const input of this.inputs) {
      const all = coerced.get(input.name)!;
      data.set(input.name, rows === null ? all : gather(all, rows, input.columns.length));
    }
    // A lone row runs as two (itself twice): for one row onnxruntime's matrix products take another kernel
    // (a GEMV), whose float sums can differ in the last bit from the same row's in a batch.
    const batch = this.fixedBatch ?? (n === 1 ? 2 : Math.min(n, Math.max(2, options.maxRunRows ?? n)));
    if (n === batch) return { rows, columns: await this.#run(data, n, selected), rejects, unknownCategories };
    const parts: Record<string, ArrayLike<unknown>>[] = [];
    for (let start = 0; start < n; start += batch) {
      const chunk = new Map<string, TensorData>();
      for (const input of this.inputs) {
        chunk.set(
          input.name,
          runOf(data.get(input.name)!, start, Math.min(n, start + batch), batch, input.columns.length),
        );
      }
      const out = await this.#run(chunk, batch, selected);
      const kept = Math.min(n, start + batch) - start;
      parts.push(
        kept === batch ? out : Object.fromEntries(Object.entries(out).map(([c, v]) => [c, slice(v, 0, kept)])),
      );
    }
    const out: Record<string, ArrayLike<unknown>> = {};
    for (const c of Object.keys(parts[0])) out[c] = concat(parts.map((p) => p[c]));
    return { rows, columns: out, rejects, unknownCategories };
  }

  /**
   * Counts the rows (not already rejected) holding a category the model has never seen, and with
   * `strictCategories` rejects them, naming the first such column and value. One Set lookup per value of a column
   * with known categories.
   */
  #checkCategories(
    coerced: ReadonlyMap<string, TensorData>,
    sources: ReadonlyMap<string, Readonly<InputFeed>>,
    length: number,
    bad: Set<number>,
    rejects: RowReject[],
  ): number {
    let flagged: Uint8Array | undefined;
    let rows = 0;
    for (const check of this.#categoryChecks) {
      const { input, column } = check;
      const values = coerced.get(input.name)! as ArrayLike<unknown>;
      const known = check.known as ReadonlySet<unknown>;
      const k = input.columns.length;
      for (let r = 0, at = column; r < length; r++, at += k) {
        if (known.has(values[at]) || (bad.size > 0 && bad.has(r))) continue;
        check.unknown++;
        flagged ??= new Uint8Array(length);
        if (flagged[r] === 1) continue;
        flagged[r] = 1;
        rows++;
        if (!this.strictCategories) continue;
        const source = sources.get(input.name)!;
        const name = source.columns?.[column] ?? source.listColumn!;
        const value = values[at];
        rejects.push({
          index: r,
          column: name,
          value,
          message: `column "${name}" has category ${
            typeof value === "string" ? show(value) : `"${value}"`
          } the model has never seen`,
          unknownCategory: true,
        });
      }
    }
    if (this.strictCategories && flagged !== undefined) { for (let r = 0; r < length; r++) if (flagged[r]) bad.add(r); }
    return rows;
  }

  /** One `session.run` of `n` rows (flat row-major data per input); the outputs split into their columns. */
  async #run(
    data: ReadonlyMap<string, TensorData>,
    n: number,
    selected: readonly OutputSpec[],
  ): Promise<Record<string, ArrayLike<unknown>>> {
    const feeds: Record<string, ort.Tensor> = {};
    const { Tensor } = onnxruntime();
    for (const input of this.inputs) {
      const dims = input.shape.length === 2 ? [n, input.columns.length] : [n];
      feeds[input.name] = new Tensor(input.type, data.get(input.name)! as never, dims);
    }
    let results: ort.InferenceSession.OnnxValueMapType;
    try {
      results = await this.#session.run(feeds, selected.map((o) => o.name));
    } catch (err) {
      throw ModelError.runFailed(`Model "${this.name}" failed to run: ${(err as Error).message}`, { cause: err });
    } finally {
      for (const t of Object.values(feeds)) t.dispose();
    }
    const out: Record<string, ArrayLike<unknown>> = {};
    for (const o of selected) splitOutput(o, results[o.name] as ort.Tensor, n, out);
    return out;
  }

  /** Releases the onnxruntime session. */
  async close(): Promise<void> {
    await this.#session.release();
  }

  #selectOutputs(names: string[] | undefined): readonly OutputSpec[] {
    if (names === undefined) return this.outputs;
    return names.map((name) => {
      const o = this.outputs.find((x) => x.name === name || x.columns.includes(name));
      if (o === undefined) {
        throw ModelError.unknownOutput(
          `Unknown output "${name}" for model "${this.name}" (outputs: ${
            this.outputs.map((x) => `"${x.name}"`).join(", ")
          })`,
        );
      }
      return o;
    });
  }
}

function keptRows(length: number, bad: Set<number>): Uint32Array {
  const rows = new Uint32Array(length - bad.size);
  let j = 0;
  for (let i = 0; i < length; i++) if (!bad.has(i)) rows[j++] = i;
  return rows;
}

/** The rows at `rows` of row-major data with `k` values per row. */
function gather(data: TensorData, rows: Uint32Array, k: number): TensorData {
  const out = Array.isArray(data)
    ? new Array<string>(rows.length * k)
    : new (data.constructor as new (n: number) => Exclude<TensorData, string[]>)(rows.length * k);
  const src = data as ArrayLike<unknown>;
  const dst = out as unknown as unknown[];
  for (let j = 0; j < rows.length; j++) for (let c = 0; c < k; c++) dst[j * k + c] = src[rows[j] * k + c];
  return out;
}

/** Rows `start` to `end` of row-major data, padded to `size` rows by repeating the last (a fixed batch takes exactly `size`). */
function runOf(data: TensorData, start: number, end: number, size: number, k: number): TensorData {
  const rows = new Uint32Array(size);
  for (let j = 0; j < size; j++) rows[j] = Math.min(start + j, end - 1);
  return gather(data, rows, k);
}

function slice(values: ArrayLike<unknown>, start: number, end: number): ArrayLike<unknown> {
  return Array.isArray(values) ? values.slice(start, end) : (values as unknown as Float64Array).slice(start, end);
}

function concat(parts: ArrayLike<unknown>[]): ArrayLike<unknown> {
  const total = parts.reduce((n, p) => n + p.length, 0);
  if (Array.isArray(parts[0])) return (parts as unknown[][]).flat();
  const out = new (parts[0].constructor as new (n: number) => Float64Array)(total);
  let at = 0;
  for (const p of parts) {
    out.set(p as Float64Array, at);
    at += p.length;
  }
  return out;
}

function splitOutput(o: OutputSpec, t: ort.Tensor, n: number, out: Record<string, ArrayLike<unknown>>) {
  const data = t.data as ArrayLike<unknown>;
  const k = o.columns.length;
  if (t.dims.length === 0 || t.dims[0] !== n || data.length !== n * k) {
    throw ModelError.runFailed(
      `Output "${o.name}" has shape [${t.dims}] for a run of ${n} rows; ${k} ${k === 1 ? "value" : "values"} ` +
        `per row were expected (as a trial run at load returned)`,
    );
  }
  if (k === 1) {
    out[o.columns[0]] = data;
    return;
  }
  for (let c = 0; c < k; c++) {
    const col = Array.isArray(data) ? new Array(n) : new (data.constructor as new (n: number) => unknown[])(n);
    for (let r = 0; r < n; r++) col[r] = data[r * k + c];
    out[o.columns[c]] = col;
  }
}

/** A value as a message quotes it: short, whatever its size (a reject message may go into a log or a response). */
function show(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v);
  if (typeof v === "bigint") return String(v);
  // JSON would write an infinity (1e999 read as a number) as null.
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = Object.prototype.toString.call(v);
  }
  return text.length > 60 ? text.slice(0, 60) + "…" : text;
}
