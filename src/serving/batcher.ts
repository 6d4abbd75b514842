/**
 * Dynamic batching for the online transports (HTTP, queue): concurrent
 * requests for one model are merged into one `model.predict` of at most
 * `maxBatchSize` rows, waiting at most `maxDelayMs` for company, and each
 * caller gets back exactly its own rows.
 */
import { setImmediate } from "node:timers";
import { UnavailableError } from "../errors.ts";
import type { Model, Prediction } from "../model/mod.ts";
import { sliceColumn } from "../rows.ts";

/** Batching limits. */
export interface BatcherOptions {
  /** Most rows in one model run (a larger single request runs alone, in runs of this many rows). */
  maxBatchSize?: number;
  /**
   * How long the first waiting request may wait for others; 0: none, but the requests that came in together (in one
   * turn of the event loop) still run together.
   */
  maxDelayMs?: number;
  /** Most rows waiting; past it `predict` fails with a 503-mapped error. */
  maxQueue?: number;
  /** Model runs at once. */
  concurrency?: number;
  /** Called with the row count of every model run (for metrics). */
  onBatch?: (rows: number) => void;
}

interface Pending {
  columns: Record<string, ArrayLike<unknown>>;
  length: number;
  resolve: (p: Prediction) => void;
  reject: (e: unknown) => void;
}

/**
 * Queues requests for one model and runs them in merged batches.
 *
 * @example
 * ```ts
 * const batcher = new Batcher(model, { maxBatchSize: 256, maxDelayMs: 1 });
 * const p = await batcher.predict({ PULocationID: [10], DOLocationID: [50], trip_distance: [40] }, 1);
 * ```
 */
export class Batcher {
  readonly model: Model;
  readonly #maxBatchSize: number;
  readonly #maxDelayMs: number;
  readonly #maxQueue: number;
  readonly #concurrency: number;
  readonly #onBatch?: (rows: number) => void;
  #queue: Pending[] = [];
  #queuedRows = 0;
  #running = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** A flush is set for the end of this turn of the event loop (maxDelayMs 0). */
  #flushing = false;
  #idle: (() => void)[] = [];
  readonly #runs: { maxRunRows: number };

  constructor(model: Model, options: BatcherOptions = {}) {
    this.model = model;
    this.#maxBatchSize = options.maxBatchSize ?? 256;
    this.#maxDelayMs = options.maxDelayMs ?? 1;
    this.#maxQueue = options.maxQueue ?? 10_000;
    this.#concurrency = options.concurrency ?? 1;
    this.#onBatch = options.onBatch;
    this.#runs = { maxRunRows: this.#maxBatchSize };
  }

  /** Rows waiting for a model run. */
  get queuedRows(): number {
    return this.#queuedRows;
  }

  /** Rows waiting or being scored: zero means idle. */
  get busy(): boolean {
    return this.#queuedRows > 0 || this.#running > 0;
  }

  /**
   * Scores one request's rows (given as columns keyed by input name or
   * alias). The result's `rows` and reject indices are the request's own.
   * A request lacking an input fails alone, before it is queued.
   */
  predict(columns: Record<string, ArrayLike<unknown>>, length: number): Promise<Prediction> {
    // Key every request by input name, so requests using different aliases merge.
    const canonical = this.model.canonicalColumns(columns);
    if (this.#queuedRows + length > this.#maxQueue && this.#queuedRows > 0) {
      return Promise.reject(
        new UnavailableError(
          `Too many rows waiting for model "${this.model.name}" (${this.#queuedRows}); retry shortly`,
          {
            retryAfterSeconds: 1,
          },
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ columns: canonical, length, resolve, reject });
      this.#queuedRows += length;
      this.#schedule();
    });
  }

  /** Resolves when nothing is queued or running. */
  drain(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #schedule() {
    if (this.#running >= this.#concurrency || this.#queue.length === 0) return;
    if (this.#queuedRows >= this.#maxBatchSize) {
      this.#flush();
    } else if (this.#maxDelayMs <= 0) {
      // Not at once: the other requests whose bodies arrived in this turn join the run. Run at once, the first request
      // of a burst would run alone and the rest wait for it.
      if (!this.#flushing) {
        this.#flushing = true;
        setImmediate(() => {
          this.#flushing = false;
          this.#flush();
        });
      }
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#flush();
      }, this.#maxDelayMs);
    }
  }

  #flush() {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#running >= this.#concurrency || this.#queue.length === 0) return;
    const batch: Pending[] = [];
    let rows = 0;
    while (this.#queue.length > 0 && (batch.length === 0 || rows + this.#queue[0].length <= this.#maxBatchSize)) {
      const p = this.#queue.shift()!;
      batch.push(p);
      rows += p.length;
    }
    this.#queuedRows -= rows;
    this.#running++;
    this.#run(batch, rows).finally(() => {
      this.#running--;
      if (this.#queue.length > 0) this.#schedule();
      else if (!this.busy) { for (const f of this.#idle.splice(0)) f(); }
    });
  }

  async #run(batch: Pending[], rows: number) {
    this.#onBatch?.(rows);
    if (batch.length === 1) return await this.#alone(batch[0]);
    let result: Prediction;
    try {
      result = await this.model.predict(merge(batch, rows), rows, this.#runs);
    } catch {
      // One request's rows may have made the merged run fail: score each alone, so only that one fails.
      for (const p of batch) await this.#alone(p);
      return;
    }
    split(batch, result);
  }

  async #alone(p: Pending) {
    try {
      // However large the request, onnxruntime sees at most maxBatchSize rows at a time: its memory is bounded.
      p.resolve(await this.model.predict(p.columns, p.length, this.#runs));
    } catch (err) {
      p.reject(err);
    }
  }
}

function merge(batch: Pending[], rows: number): Record<string, unknown[]> {
  const merged: Record<string, unknown[]> = {};
  // Requests may give an [N,K] input as K columns or as lists: a row lacking one form has undefined there.
  for (const name of new Set(batch.flatMap((p) => Object.keys(p.columns)))) {
    const out = new Array<unknown>(rows);
    let at = 0;
    for (const p of batch) {
      const col = p.columns[name];
      if (col === undefined) at += p.length;
      else for (let i = 0; i < p.length; i++) out[at++] = col[i];
    }
    merged[name] = out;
  }
  return merged;
}

/** Hands each request the slice of the merged prediction that is its own. */
function split(batch: Pending[], result: Prediction) {
  const names = Object.keys(result.columns);
  let start = 0; // first merged row of the request
  let cursor = 0; // position in result.rows / output columns
  let r = 0; // position in result.rejects
  for (const p of batch) {
    const end = start + p.length;
    const rejects = [];
    while (r < result.rejects.length && result.rejects[r].index < end) {
      rejects.push({ ...result.rejects[r], index: result.rejects[r].index - start });
      r++;
    }
    let count = p.length;
    let rowsOut: Uint32Array | null = null;
    if (result.rows !== null) {
      let stop = cursor;
      while (stop < result.rows.length && result.rows[stop] < end) stop++;
      count = stop - cursor;
      rowsOut = result.rows.slice(cursor, stop).map((i) => i - start);
    }
    const columns: Record<string, ArrayLike<unknown>> = {};
    for (const name of names) columns[name] = sliceColumn(result.columns[name], cursor, cursor + count);
    p.resolve({ rows: rowsOut, columns, rejects });
    cursor += count;
    start = end;
  }
}
