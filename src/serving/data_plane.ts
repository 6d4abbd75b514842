/**
 * The data plane of `score serve` and `score consume`: the one object that
 * owns the loaded models, their batchers and the prediction log, whatever
 * transport asks. The HTTP app maps routes to it, the gRPC service calls
 * to it, the queue consumer scores events through it; transports given
 * the same data plane share its batchers, so their requests merge into the
 * same model runs, and a reload (`swap`) reaches them all at once.
 *
 * Models are held as one registry snapshot, a map name -> {model, batcher}
 * that is only ever replaced as a whole: a request takes its entry once
 * and keeps it to the end, so a model swapped for a new version while the
 * request runs answers it with the version it started with.
 */
import { NotFoundError, UsageError } from "../errors.ts";
import type { Model, Prediction } from "../model/mod.ts";
import type { LoggedPrediction } from "./prediction_log.ts";
import type { TensorType } from "../model/mod.ts";
import { predictionJson } from "./prediction_json.ts";
import { Batcher, type BatcherOptions } from "./batcher.ts";
import {
  inferColumns,
  type InferenceRequest,
  type InferenceResult,
  inferResult,
  type ModelMetadata,
  modelMetadata,
} from "./oip.ts";

/** The course's rows (`/predict`): feature columns of loosely typed values, as a JSON body gives them. */
export interface RowsRequest {
  columns: Record<string, ArrayLike<unknown>>;
  length: number;
}

/** What scored a rows request: the model version that answered (for its outputs) and its prediction. */
export interface RowsResult {
  model: Model;
  prediction: Prediction;
}

/** Where scored rows go besides the response (e.g. the Postgres prediction log). */
export interface PredictionWriter {
  /** Must not block or throw: it is called on the response path. */
  write(record: LoggedPrediction): void;
}

/** How the data plane behaves; every field has a default. */
export interface DataPlaneOptions {
  /** Reported by the server metadata (`GET /v2`). */
  version?: string;
  /** Dynamic batching limits, per model. */
  batching?: Omit<BatcherOptions, "onBatch">;
  /** Prediction log: one record per scored row. */
  predictions?: PredictionWriter;
  /** Readiness: false while the server drains (default: always ready). */
  isReady?: () => boolean;
  /**
   * Called with each request's columns and prediction once it is scored (a drift monitor): it must only keep them
   * for later, as it runs on the request path.
   */
  observe?: (model: Model, inputs: Record<string, ArrayLike<unknown>>, length: number, prediction: Prediction) => void;
}

/** One served model and the batcher in front of it. */
export interface ServedModel {
  readonly model: Model;
  readonly batcher: Batcher;
}

/** Who asks, for the prediction log; the data plane fills in the version that answered. */
export interface RequestContext {
  requestId: string;
  /** Set by the data plane: the version of the model that scored the request. */
  modelVersion?: string;
}

/** Called with every model run: the model's name, the rows it scored and the model's version. */
export type BatchListener = (model: string, rows: number, version: string) => void;

/**
 * Models, batchers and the prediction log behind every transport.
 *
 * @example
 * ```ts
 * const plane = new DataPlane([model], { batching: { maxBatchSize: 256 } });
 * const { prediction } = await plane.predictRows(model.name, { columns: { trip_distance: [40], ... }, length: 1 }, { requestId });
 * prediction.columns.duration[0]; // 26.43883355119793
 * ```
 */
export class DataPlane {
  /** The first model: the one `POST /predict` answers. */
  readonly defaultModel: string;
  readonly version: string;
  readonly #options: DataPlaneOptions;
  readonly #listeners = new Set<BatchListener>();
  /** Replaced as a whole, never changed in place (see the module note). */
  #registry: ReadonlyMap<string, ServedModel>;
  #models: readonly Model[];

  constructor(models: readonly Model[], options: DataPlaneOptions = {}) {
    if (models.length === 0) throw new UsageError("score serve needs at least one model (--model)");
    this.#options = options;
    this.version = options.version ?? "0.0.0";
    this.defaultModel = models[0].name;
    const registry = new Map<string, ServedModel>();
    for (const model of models) registry.set(model.name, this.#serve(model));
    this.#registry = registry;
    this.#models = Object.freeze([...models]);
  }

  /** The served models, in the order given; a new array only when the registry changes. */
  get models(): readonly Model[] {
    return this.#models;
  }

  /** Calls `listener` with every model run of every model; returns how to stop. */
  onBatch(listener: BatchListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Rows waiting for a model run, by model. */
  queuedRows(): { model: string; rows: number }[] {
    return [...this.#registry.values()].map(({ model, batcher }) => ({ model: model.name, rows: batcher.queuedRows }));
  }

  /**
   * The served model and its batcher, as of now. Throws a 404-mapped error
   * naming the models served when there is no such model (or version).
   */
  served(name: string, version?: string): ServedModel {
    const found = this.#registry.get(name);
    if (found === undefined) {
      throw new NotFoundError(`Unknown model "${name}" (models: ${[...this.#registry.keys()].join(", ")})`);
    }
    if (version !== undefined && version !== found.model.version) {
      throw new NotFoundError(`Model "${name}" has no version "${version}" (it serves ${found.model.version})`);
    }
    return found;
  }

  /** The server metadata of the Open Inference Protocol. */
  metadata(): { name: string; version: string; extensions: string[] } {
    return { name: "score", version: this.version, extensions: [] };
  }

  /** A model's metadata (inputs, outputs, datatypes) as the Open Inference Protocol lists it. */
  modelMetadata(name: string, version?: string): ModelMetadata {
    return modelMetadata(this.served(name, version).model);
  }

  /** Whether requests should be sent here: false while draining. */
  ready(): boolean {
    return this.#options.isReady?.() ?? true;
  }

  /** Whether a model is served (and the server ready); throws for an unknown model. */
  modelReady(name: string, version?: string): boolean {
    this.served(name, version);
    return this.ready();
  }

  /**
   * Scores a typed Open Inference Protocol request and returns the typed
   * result; throws a 400-mapped error naming the tensor for a request that
   * does not fit the model.
   *
   * @example
   * ```ts
   * const result = await plane.infer("rides", undefined, { inputs: [{ name: "trip_distance", datatype: "FP64", shape: [1], data: new Float64Array([40]) }, ...] }, { requestId });
   * ```
   */
  async infer(
    name: string,
    version: string | undefined,
    request: InferenceRequest,
    context: RequestContext,
  ): Promise<InferenceResult> {
    const served = this.served(name, version);
    context.modelVersion = served.model.version;
    const req = inferColumns(request, served.model);
    const prediction = await served.batcher.predict(req.columns, req.length);
    const result = inferResult(served.model, request, req.outputs, prediction);
    this.#log(served.model, context, req.columns, req.length, prediction, req.types);
    this.#options.observe?.(served.model, req.columns, req.length, prediction);
    return result;
  }

  /**
   * Scores the course's rows (`/predict`) given as columns. Rows the model
   * rejects come back in the prediction's `rejects` (the transport says
   * which row in its own words) and are not logged.
   *
   * @example
   * ```ts
   * const { model, prediction } = await plane.predictRows("rides", { columns: { trip_distance: [40], ... }, length: 1 }, { requestId });
   * ```
   */
  async predictRows(name: string, request: RowsRequest, context: RequestContext): Promise<RowsResult> {
    const served = this.served(name);
    context.modelVersion = served.model.version;
    const prediction = await served.batcher.predict(request.columns, request.length);
    if (prediction.rejects.length === 0) {
      this.#log(served.model, context, request.columns, request.length, prediction);
      this.#options.observe?.(served.model, request.columns, request.length, prediction);
    }
    return { model: served.model, prediction };
  }

  /**
   * Serves `model` in place of the served model of the same name, atomically:
   * requests from now on get the new one, requests that already took the old
   * one finish on it. Resolves once the old model has answered them all and
   * is closed.
   *
   * @example
   * ```ts
   * await plane.swap(await loadModel("models/ride-duration-rf"));
   * ```
   */
  async swap(model: Model): Promise<void> {
    const old = this.served(model.name);
    const registry = new Map(this.#registry);
    registry.set(model.name, this.#serve(model));
    this.#registry = registry;
    this.#models = Object.freeze(this.#models.map((m) => m.name === model.name ? model : m));
    await old.batcher.drain();
    // Nothing uses the old session any more; failing to release it changes nothing for the new one.
    await old.model.close().catch(() => {});
  }

  /** Waits until no batcher has rows queued or running. */
  async drain(): Promise<void> {
    await Promise.all([...this.#registry.values()].map(({ batcher }) => batcher.drain()));
  }

  /**
   * Closes the models serving now (those swapped out are closed already).
   * Call it once nothing is served any more; it does not wait for requests
   * (a shutdown that timed out must not hang on them).
   */
  async close(): Promise<void> {
    for (const { model } of this.#registry.values()) await model.close();
  }

  #serve(model: Model): ServedModel {
    const batcher = new Batcher(model, {
      ...this.#options.batching,
      onBatch: (rows) => {
        for (const listener of this.#listeners) listener(model.name, rows, model.version);
      },
    });
    return { model, batcher };
  }

  /** The one place the prediction log is fed: from the request's columns and the prediction's. */
  #log(
    model: Model,
    context: RequestContext,
    inputs: Record<string, ArrayLike<unknown>>,
    length: number,
    prediction: Prediction,
    types?: Readonly<Record<string, TensorType>>,
  ) {
    const predictions = this.#options.predictions;
    if (predictions === undefined) return;
    const time = new Date();
    // Rows are logged under the model's column names, whatever spelling or form (a list, K columns) the client used,
    // as a typed request's are: a query of the log finds every row. Fields the model does not read are kept as sent.
    if (types === undefined) inputs = loggedColumns(model, inputs, length);
    const names = Object.keys(inputs);
    for (let r = 0; r < length; r++) {
      const features: Record<string, unknown> = {};
      for (const name of names) {
        // A row lacking a field another row of the request has is logged without it.
        const v = inputs[name][r];
        // Typed tensors are logged as JSON takes them (exact int64, bools, NaN as null); rows as they came.
        if (v !== undefined) features[name] = types === undefined ? v : loggedValue(v, types[name]);
      }
      const out = predictionJson(model.outputs, prediction.columns, r);
      predictions.write({
        time,
        requestId: context.requestId,
        model: model.name,
        modelVersion: model.version,
        features,
        outputs: out,
      });
    }
  }
}

/** A rows request's columns under the model's column names (a list split into its K columns), then the other fields. */
function loggedColumns(
  model: Model,
  columns: Record<string, ArrayLike<unknown>>,
  length: number,
): Record<string, ArrayLike<unknown>> {
  const out: Record<string, ArrayLike<unknown>> = {};
  const used = new Set<string>();
  const feeds = model.resolveInputs(Object.keys(columns));
  for (const input of model.inputs) {
    const feed = feeds.get(input.name);
    if (feed === undefined) continue;
    feed.columns?.forEach((source) => used.add(source));
    if (feed.listColumn === undefined) {
      feed.columns?.forEach((source, k) => out[input.columns[k]] = columns[source]);
      continue;
    }
    // Rows may give an [N,K] input as a list or as K fields (either form, row by row).
    const lists = columns[feed.listColumn];
    used.add(feed.listColumn);
    input.columns.forEach((name, k) => {
      const fields = feed.columns === undefined ? undefined : columns[feed.columns[k]];
      out[name] = Array.from(
        { length },
        (_, r) => fields?.[r] ?? (lists[r] as ArrayLike<unknown> | null | undefined)?.[k],
      );
    });
  }
  for (const [name, column] of Object.entries(columns)) if (!used.has(name) && !(name in out)) out[name] = column;
  return out;
}

/**
 * A typed value as the log's JSON takes it: an int64 as a number while exact (a bigint beyond), NaN as null, a
 * float32 as the shortest decimal that is that float32 (0.1, as it was sent, not 0.10000000149011612).
 */
function loggedValue(v: unknown, type: TensorType): unknown {
  if (type === "bool") return v === 1 || v === true;
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  if (typeof v !== "number") return v;
  if (!Number.isFinite(v)) return null;
  if (type !== "float32") return v;
  for (let digits = 1; digits < 9; digits++) {
    const shorter = Number(v.toPrecision(digits));
    if (Math.fround(shorter) === v) return shorter;
  }
  return Number(v.toPrecision(9));
}
