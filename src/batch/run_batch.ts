/**
 * The batch pipeline: source -> batches of rows as columns -> model ->
 * predictions -> sink, with rejected rows to a rejects sink. One batch is
 * read ahead while the model runs, so reading and scoring overlap and at
 * most two batches are in memory.
 */
import { abortable, settleWithin } from "../abortable.ts";
import { describeError, InputError, TooManyRejectsError, UsageError } from "../errors.ts";
import { type InputFeed, type Model, type Prediction, sourceColumns } from "../model/mod.ts";
import { type ColumnInfo, gatherColumn, type RowBatch, type ValueType } from "../rows.ts";
import type { Sink } from "../sinks/mod.ts";
import type { NumberType, Source } from "../sources/mod.ts";

/** A value written on every output and reject row (model name, window, ...). */
export interface Constant {
  name: string;
  type: ValueType;
  value: unknown;
}

/** Everything one run needs. */
export interface BatchJob {
  model: Model;
  source: Source;
  sink: Sink;
  /** Where rejected rows go; without it each is logged through `onReject`. */
  rejects?: Sink;
  /** Source columns passed through unchanged. */
  keep?: string[];
  batchSize: number;
  /** Extra columns after `model_name` and `model_version`. */
  constants?: Constant[];
  /**
   * Most rows that may be rejected: past it the job stops and commits
   * nothing (output and rejects are aborted). Negative or unset: no limit.
   */
  maxRejects?: number;
  /** Stops the job at once, committing nothing: a read or write in progress is abandoned and the sinks aborted. */
  signal?: AbortSignal;
  onProgress?: (p: BatchProgress) => void;
  /** Called for each rejected row (after it is written to `rejects`, if any). */
  onReject?: (row: number, message: string) => void;
  /**
   * Called with each batch read and its prediction, in order, before the batch is written: a monitor folds the
   * rows and predictions it watches. It must not keep or change them.
   */
  onScored?: (batch: RowBatch, prediction: Prediction) => void;
}

/** Counts so far. */
export interface BatchProgress {
  read: number;
  predicted: number;
  rejected: number;
}

/** What a finished run reports. */
export interface BatchSummary extends BatchProgress {
  /** Rows that carried a category the model has never seen (scored, or rejected when the model is strict). */
  unknownCategories: number;
  seconds: number;
  rowsPerSecond: number;
}

/** The columns of a rejects table, before the job's constants. */
export const REJECT_COLUMNS: ColumnInfo[] = [
  { name: "row", type: "int64" },
  { name: "error", type: "string" },
  { name: "data", type: "json" },
];

/**
 * Runs one batch job to the end and commits the sink (and the rejects).
 * On any failure nothing is committed: both sinks are aborted.
 *
 * @example
 * ```ts
 * const summary = await runBatch({ model, source, sink, keep: ["ride_id"], batchSize: 10_000 });
 * ```
 */
export async function runBatch(job: BatchJob): Promise<BatchSummary> {
  const { model, source, sink, rejects } = job;
  const started = performance.now();
  let plan: ColumnPlan;
  try {
    plan = columnPlan(job);
  } catch (err) {
    // The source is open (a reader's database, a file): a job that cannot start closes it too.
    await source.close();
    throw err;
  }
  const { inputs, keep, constants, columns, read } = plan;
  const progress: BatchProgress = { read: 0, predicted: 0, rejected: 0 };
  let unknownCategories = 0;
  let firstReject: string | undefined;

  const wait = <T>(work: Promise<T>) => abortable(work, job.signal);
  // A sink counts as opened from the start of its open: an open cut short is aborted too.
  let opened: Sink[] = [];
  // An open a signal cut short goes on (it may yet create a temporary file): its abort waits for it, a little.
  const openings = new Map<Sink, Promise<void>>();
  const opening = (s: Sink, open: Promise<void>) => (openings.set(s, open.catch(() => {})), open);
  try {
    job.signal?.throwIfAborted();
    const numbers = numberColumns(model, inputs, keep);
    const batches = source.batches({ batchSize: job.batchSize, columns: read, numbers })[Symbol.asyncIterator]();
    // The first batch is read while the sinks open (a query or a file reader starting takes as long as an open).
    let next = batches.next();
    next.catch(() => {}); // awaited below; this only silences a rejection while the sinks open
    opened.push(sink);
    await wait(opening(sink, sink.open(columns)));
    if (rejects) {
      opened.push(rejects);
      await wait(
        opening(rejects, rejects.open([...REJECT_COLUMNS, ...constants.map(({ name, type }) => ({ name, type }))])),
      );
    }
    /** Writes one scored batch and its rejects, then counts it. */
    const finish = async (batch: RowBatch, prediction: Scored) => {
      job.onScored?.(batch, prediction);
      const rowsOut = prediction.rows?.length ?? batch.length;
      if (rowsOut > 0) {
        const out: Record<string, ArrayLike<unknown>> = {};
        for (const k of keep) {
          out[k.name] = prediction.rows ? gatherColumn(batch.columns[k.name], prediction.rows) : batch.columns[k.name];
        }
        Object.assign(out, prediction.columns);
        for (const c of constants) out[c.name] = repeat(c.value, rowsOut);
        await wait(sink.write({ offset: batch.offset, length: rowsOut, columns: out }));
      }
      const rejected = collectRejects(batch, prediction, read);
      if (rejected.length > 0) {
        firstReject ??= rejected[0].error;
        if (rejects) await wait(rejects.write(rejectBatch(rejected, constants)));
        for (const x of rejected) job.onReject?.(x.row, x.error);
      }
      progress.read += batch.length + (batch.rejects?.length ?? 0);
      progress.predicted += rowsOut;
      progress.rejected += rejected.length;
      unknownCategories += prediction.unknownCategories ?? 0;
      job.onProgress?.({ ...progress });
      if (job.maxRejects !== undefined && job.maxRejects >= 0 && progress.rejected > job.maxRejects) {
        throw new TooManyRejectsError(
          `Stopped after ${progress.rejected} rejected rows, more than --max-errors ${job.maxRejects}: ` +
            `nothing was written. The first: ${firstReject}`,
        );
      }
      job.signal?.throwIfAborted();
    };
    // Three batches in flight, each at its own stage: batch n+1 is read while batch n is scored (by a model in a
    // worker, or by the main thread) and batch n-1 is written, in order.
    let scored: { batch: RowBatch; prediction: Promise<Scored> } | undefined;
    for (;;) {
      const r = await wait(next);
      if (r.done) break;
      const batch = r.value;
      next = batches.next();
      next.catch(() => {}); // awaited on the next turn; this only silences an early rejection
      const prediction = scoreRows(model, batch.columns, batch.length);
      prediction.catch(() => {}); // awaited below, after the batch before is written
      if (scored) await finish(scored.batch, await wait(scored.prediction));
      scored = { batch, prediction };
    }
    if (scored) await finish(scored.batch, await wait(scored.prediction));
    // A signal during the commit abandons it too: the transaction then either committed whole
    // (the commit had reached the server) or not at all, and a rerun replaces it either way.
    await wait(sink.commit());
    opened = opened.filter((s) => s !== sink);
    if (rejects) await wait(rejects.commit());
    opened = [];
  } catch (err) {
    for (const s of opened) {
      await settleWithin(openings.get(s) ?? Promise.resolve(), OPEN_SETTLE_MS);
      await s.abort().catch(() => {});
    }
    throw err;
  } finally {
    await source.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return { ...progress, unknownCategories, seconds, rowsPerSecond: progress.read / Math.max(seconds, 1e-9) };
}

/** What a job reads and writes, column by column. */
interface ColumnPlan {
  inputs: ReadonlyMap<string, InputFeed>;
  keep: ColumnInfo[];
  constants: Constant[];
  /** The output's columns: the kept ones, the model's, the constants. */
  columns: ColumnInfo[];
  /** The source columns read: the model's and the kept ones. */
  read: string[];
}

/** The job's columns; throws when an input is missing or two output columns share a name. */
function columnPlan(job: BatchJob): ColumnPlan {
  const { model, source } = job;
  const inputs = model.resolveInputs(source.columns.map((c) => c.name));
  const keep = keptColumns(source.columns, job.keep ?? []);
  const constants: Constant[] = [
    { name: "model_name", type: "string", value: model.name },
    { name: "model_version", type: "string", value: model.version },
    ...(job.constants ?? []),
  ];
  // Every tensor type is also a value type, so an output column's type passes straight to the sinks.
  const outputs: ColumnInfo[] = model.outputColumns.map((c) => ({ name: c.name, type: c.type }));
  const columns = [...keep, ...outputs, ...constants.map(({ name, type }) => ({ name, type }))];
  const clash = columns.find((c, i) => columns.findIndex((d) => d.name === c.name) !== i);
  if (clash) {
    throw new UsageError(`Output column "${clash.name}" appears twice: rename the kept column or the model output`);
  }
  const read = [...new Set([...sourceColumns(inputs), ...keep.map((c) => c.name)])];
  return { inputs, keep, constants, columns, read };
}

/** How long an abort waits for an open still in flight, so that what the open makes is removed too. */
const OPEN_SETTLE_MS = 1_000;

/** A prediction, and the rows the model itself failed to score (each alone). */
interface Scored extends Prediction {
  failed?: { index: number; message: string }[];
}

/**
 * The model's prediction for the rows; when onnxruntime fails on the batch, the rows that make it fail are found by
 * halving (a few bad rows cost a few runs each) and set apart with its message, the others scored. When every row of
 * a batch fails alone, it is the model that fails, not the rows: its error stands and the job stops.
 */
async function scoreRows(model: Model, columns: Columns, length: number): Promise<Scored> {
  try {
    return await model.predict(columns, length);
  } catch (err) {
    if (describeError(err).code !== MODEL_FAILED) throw err;
    const scored = await isolate(model, columns, length, err as Error);
    if (length > 1 && scored.failed?.length === length) throw err;
    return scored;
  }
}

/** `ModelError.runFailed`'s code: onnxruntime failed while running the graph. */
const MODEL_FAILED = "model_failed";

type Columns = Readonly<Record<string, ArrayLike<unknown>>>;

/** Scores the two halves of rows whose run failed with `err`, each halved again on failure, down to single rows. */
async function isolate(model: Model, columns: Columns, length: number, err: Error): Promise<Scored> {
  if (length === 1) {
    const names = model.outputColumns.map((c) => c.name);
    return {
      rows: new Uint32Array(0),
      columns: Object.fromEntries(names.map((n) => [n, []])),
      rejects: [],
      failed: [{ index: 0, message: err.message }],
    };
  }
  const half = Math.ceil(length / 2);
  const parts: Scored[] = [];
  for (const [start, end] of [[0, half], [half, length]]) {
    const part = sliceColumns(columns, start, end);
    try {
      parts.push(await model.predict(part, end - start));
    } catch (e) {
      if (describeError(e).code !== MODEL_FAILED) throw e;
      parts.push(await isolate(model, part, end - start, e as Error));
    }
  }
  return joinScored(parts[0], half, parts[1], length - half);
}

function sliceColumns(columns: Columns, start: number, end: number): Columns {
  const out: Record<string, ArrayLike<unknown>> = {};
  for (const [name, c] of Object.entries(columns)) {
    out[name] = ArrayBuffer.isView(c)
      ? (c as unknown as Float64Array).subarray(start, end)
      : Array.prototype.slice.call(c, start, end);
  }
  return out;
}

/** Two predictions of consecutive rows (`n` rows, then `m`) as one. */
function joinScored(a: Scored, n: number, b: Scored, m: number): Scored {
  const rows = a.rows === null && b.rows === null ? null : Uint32Array.from([
    ...(a.rows ?? Array.from({ length: n }, (_, i) => i)),
    ...Array.from(b.rows ?? Array.from({ length: m }, (_, i) => i), (i) => i + n),
  ]);
  const columns: Record<string, ArrayLike<unknown>> = {};
  for (const name of Object.keys(a.columns)) columns[name] = joinColumn(a.columns[name], b.columns[name]);
  return {
    rows,
    columns,
    rejects: [...a.rejects, ...b.rejects.map((r) => ({ ...r, index: r.index + n }))],
    failed: [...a.failed ?? [], ...(b.failed ?? []).map((f) => ({ ...f, index: f.index + n }))],
    unknownCategories: (a.unknownCategories ?? 0) + (b.unknownCategories ?? 0),
  };
}

/** Two parts of an output column as one, typed as they were (an empty part of a failed row may be a plain array). */
function joinColumn(a: ArrayLike<unknown>, b: ArrayLike<unknown>): ArrayLike<unknown> {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  if (ArrayBuffer.isView(a) && a.constructor === b.constructor) {
    const out = new (a.constructor as Float64ArrayConstructor)(a.length + b.length);
    out.set(a as unknown as Float64Array);
    out.set(b as unknown as Float64Array, a.length);
    return out;
  }
  return [...Array.from(a), ...Array.from(b)];
}

interface RejectedRow {
  row: number;
  error: string;
  data: unknown;
}

function collectRejects(batch: RowBatch, prediction: Scored, read: string[]): RejectedRow[] {
  const out: RejectedRow[] = (batch.rejects ?? []).map((r) => ({ row: r.row + 1, error: r.message, data: r.data }));
  const add = (index: number, error: (row: number) => string) => {
    const row = (batch.rowNumbers?.[index] ?? batch.offset + index) + 1;
    const data = Object.fromEntries(read.map((c) => [c, batch.columns[c][index]]));
    out.push({ row, error: error(row), data });
  };
  // A category the model has never seen was read well: it is the scoring that refuses it.
  for (const r of prediction.rejects) {
    add(r.index, (row) => `Cannot ${r.unknownCategory ? "score" : "parse"} row ${row}: ${r.message}`);
  }
  for (const f of prediction.failed ?? []) add(f.index, (row) => `Cannot score row ${row}: ${f.message}`);
  return out.sort((a, b) => a.row - b.row);
}

function rejectBatch(rows: RejectedRow[], constants: Constant[]): RowBatch {
  const columns: Record<string, ArrayLike<unknown>> = {
    row: rows.map((r) => BigInt(r.row)),
    error: rows.map((r) => r.error),
    data: rows.map((r) => r.data),
  };
  for (const c of constants) columns[c.name] = repeat(c.value, rows.length);
  return { offset: 0, length: rows.length, columns };
}

/**
 * The columns only the model reads, as the number type it coerces them to: a CSV reader may then parse them
 * natively. Kept columns are left out (they are written as they were read: "007" stays "007").
 */
function numberColumns(
  model: Model,
  inputs: ReadonlyMap<string, InputFeed>,
  keep: ColumnInfo[],
): Record<string, NumberType> {
  const kept = new Set(keep.map((c) => c.name));
  const types = new Map<string, string>();
  for (const input of model.inputs) {
    const source = inputs.get(input.name);
    if (source?.listColumn !== undefined) continue;
    for (const column of source?.columns ?? []) {
      // A column feeding two inputs of different types gets no hint.
      types.set(column, types.has(column) && types.get(column) !== input.type ? "" : input.type);
    }
  }
  const out: Record<string, NumberType> = {};
  for (const [column, type] of types) {
    if (!kept.has(column) && NUMBER_TYPES.has(type)) out[column] = type as NumberType;
  }
  return out;
}

const NUMBER_TYPES = new Set<string>(["float64", "float32", "int64", "int32"] satisfies NumberType[]);

function keptColumns(available: ColumnInfo[], keep: string[]): ColumnInfo[] {
  return keep.map((name) => {
    const c = available.find((x) => x.name === name);
    if (!c) {
      throw new InputError(
        `Cannot keep column "${name}": the input has no such column (columns: ${
          available.map((x) => `"${x.name}"`).join(", ")
        })`,
      );
    }
    return c;
  });
}

function repeat(value: unknown, n: number): unknown[] {
  return new Array(n).fill(value);
}
