/**
 * A loaded ONNX model: its metadata and `predict`, which scores a batch of
 * rows given as columns in one `session.run`.
 *
 * This folder is the only importer of onnxruntime-node and imports nothing
 * else of ours, so every transport scores through the same code.
 */
import * as ort from "onnxruntime-node";
import { coerceColumn, EXPECTED, type TensorData, type TensorType } from "./coerce.ts";
import { ModelError } from "./model_error.ts";

/** One ONNX input and the columns that may feed it. */
export interface InputSpec {
  name: string;
  type: TensorType;
  /** As onnxruntime reports it: a number, or a name / "" for a dynamic dimension. */
  shape: ReadonlyArray<number | string>;
  /** Column names tried after `name`, from the manifest. */
  aliases: string[];
  /** Whether a null or blank value rejects its row (else a float input takes NaN). */
  required: boolean;
}

/** One tensor output and the columns it becomes. */
export interface OutputSpec {
  name: string;
  type: TensorType;
  shape: ReadonlyArray<number | string>;
  /** One column for [N] or [N,1]; K columns for [N,K]. */
  columns: string[];
}

/** A row that could not be scored, and why. */
export interface RowReject {
  /** Index of the row within the batch given to `predict`. */
  index: number;
  /** The column that holds the bad value. */
  column: string;
  value: unknown;
  /** E.g. `column "trip_distance" is not a number (got "abc")`. */
  message: string;
}

/** What `predict` gives back. */
export interface Prediction {
  /** Indices of the scored rows within the batch, or null when every row was scored. */
  rows: Uint32Array | null;
  /** Output columns, one value per scored row. */
  columns: Record<string, ArrayLike<unknown>>;
  rejects: RowReject[];
}

/** Options of one `predict` call. */
export interface PredictOptions {
  /** Only these outputs (ONNX output names); all tensor outputs by default. */
  outputs?: string[];
}

/** What `loadModel` hands the constructor. */
export interface ModelInit {
  session: ort.InferenceSession;
  name: string;
  version: string;
  description: string;
  path: string;
  inputs: InputSpec[];
  outputs: OutputSpec[];
  warnings: string[];
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
  /** Tensor outputs only: non-tensor ones (a ZipMap) are left out with a warning. */
  readonly outputs: readonly OutputSpec[];
  /** Things worth a log line, found while loading. */
  readonly warnings: readonly string[];
  readonly #session: ort.InferenceSession;

  constructor(init: ModelInit) {
    this.#session = init.session;
    this.name = init.name;
    this.version = init.version;
    this.description = init.description;
    this.path = init.path;
    this.inputs = init.inputs;
    this.outputs = init.outputs;
    this.warnings = init.warnings;
  }

  /** Every output column, in order, with its element type. */
  get outputColumns(): { name: string; type: TensorType }[] {
    return this.outputs.flatMap((o) => o.columns.map((name) => ({ name, type: o.type })));
  }

  /**
   * Finds the column feeding each input: its own name, else its aliases.
   * Throws when any input has no column, naming them all and what is there.
   *
   * @example
   * ```ts
   * model.resolveInputs(["PULocationID", "DOLocationID", "trip_distance"]);
   * ```
   */
  resolveInputs(available: Iterable<string>): Map<string, string> {
    const have = new Set(available);
    const found = new Map<string, string>();
    const missing: string[] = [];
    for (const input of this.inputs) {
      const column = [input.name, ...input.aliases].find((c) => have.has(c));
      if (column === undefined) missing.push(input.name);
      else found.set(input.name, column);
    }
    if (missing.length > 0) {
      const there = [...have].map((c) => `"${c}"`).join(", ") || "none";
      throw ModelError.missingInputs(
        `Missing input ${missing.length === 1 ? "column" : "columns"} for model "${this.name}": ` +
          `${missing.map((c) => `"${c}"`).join(", ")} (columns present: ${there})`,
      );
    }
    return found;
  }

  /**
   * Scores `length` rows given as columns (extra columns are ignored). A
   * value that cannot be coerced to its input's type rejects that row only;
   * the other rows are scored in one `session.run`.
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
      const column = sources.get(input.name)!;
      const { data, failures } = coerceColumn(columns[column], input.type, { required: input.required });
      coerced.set(input.name, data);
      for (const f of failures) {
        if (bad.has(f.index)) continue;
        bad.add(f.index);
        rejects.push({
          index: f.index,
          column,
          value: f.value,
          message: f.reason === "is missing"
            ? `column "${column}" is missing (expected ${EXPECTED[input.type]})`
            : `column "${column}" ${f.reason} (got ${show(f.value)})`,
        });
      }
    }
    rejects.sort((a, b) => a.index - b.index);
    const rows = bad.size === 0 ? null : keptRows(length, bad);
    const n = rows === null ? length : rows.length;
    const selected = this.#selectOutputs(options.outputs);
    if (n === 0) {
      return { rows, columns: Object.fromEntries(selected.flatMap((o) => o.columns.map((c) => [c, []]))), rejects };
    }
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of this.inputs) {
      let data = coerced.get(input.name)!;
      if (rows !== null) data = gather(data, rows);
      const dims = input.shape.length === 2 ? [n, 1] : [n];
      feeds[input.name] = new ort.Tensor(input.type, data as never, dims);
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
    return { rows, columns: out, rejects };
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
        throw ModelError.missingInputs(
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

function gather(data: TensorData, rows: Uint32Array): TensorData {
  if (Array.isArray(data)) return Array.from(rows, (i) => data[i]);
  const ctor = data.constructor as new (n: number) => typeof data;
  const out = new ctor(rows.length);
  for (let j = 0; j < rows.length; j++) out[j] = data[rows[j]];
  return out;
}

function splitOutput(o: OutputSpec, t: ort.Tensor, n: number, out: Record<string, ArrayLike<unknown>>) {
  const data = t.data as ArrayLike<unknown> & { subarray?: unknown };
  const k = t.dims.length >= 2 ? Number(t.dims[1]) : 1;
  if (t.dims[0] !== n || data.length !== n * k) {
    throw ModelError.runFailed(`Output "${o.name}" has shape [${t.dims}], expected [${n}] or [${n}, K]`);
  }
  if (k === 1) {
    out[o.columns[0]] = data;
    return;
  }
  if (k !== o.columns.length) {
    throw ModelError.runFailed(`Output "${o.name}" has ${k} columns, expected ${o.columns.length}`);
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
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = Object.prototype.toString.call(v);
  }
  return text.length > 60 ? text.slice(0, 60) + "…" : text;
}
