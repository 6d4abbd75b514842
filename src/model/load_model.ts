/**
 * Loads a model directory (`model.onnx` + optional `model.json`) or a bare
 * `.onnx` file, with the external data files its graph names, into a
 * {@linkcode Model}.
 */
import type * as ort from "onnxruntime-node";
import { basename, dirname, join } from "node:path";
import { type ExternalFile, modelDigest, readExternalData } from "./external_data.ts";
import { type GraphFacts, graphFacts } from "./graph_facts.ts";
import { inputLayout } from "./input_layout.ts";
import { type Manifest, parseManifest } from "./manifest.ts";
import { checkInputColumns, checkManifest } from "./manifest_check.ts";
import { Model } from "./model.ts";
import type { InputSpec, OutputSpec } from "./specs.ts";
import { ModelError } from "./model_error.ts";
import { loadOnnxruntime } from "./onnxruntime.ts";
import { outputLayout } from "./output_layout.ts";
import { runCost } from "./run_cost.ts";
import type * as ZipMap from "./zipmap.ts";
import { lazyImport } from "../lazy_import.ts";
import { readWholeFile } from "../read_whole_file.ts";
import { sha256Hex } from "../sha256_hex.ts";
import { type DescribedSession, openWorkerSession, type Session } from "./session_client.ts";

/** Session and naming options. */
export interface LoadOptions {
  /**
   * onnxruntime intra-op threads; 1 by default, 0 for onnxruntime's default (one per core). With one thread a
   * row's prediction has the same bits at any batch size; more threads let a tree ensemble sum its trees in
   * an order that depends on the batch, which can change the last bit.
   */
  intraOpThreads?: number;
  /** Graph optimisation level; `all` by default. */
  graphOptimization?: "disabled" | "basic" | "extended" | "all";
  /** Output renames on top of the manifest's: ONNX output name or column -> new name. */
  renames?: Record<string, string>;
  /**
   * The manifest to use instead of reading a `model.json` beside the model: the model store gives it when it
   * knows more than the file (an MLflow run id and signature).
   */
  manifest?: Manifest;
  /**
   * Rejects a row whose category (of a string or int64 input an encoder of the graph reads) the model has never
   * seen. Unset: the manifest's `strictCategories`, else false (the row is scored as the model scores it).
   */
  strictCategories?: boolean;
  /**
   * Runs the model in a worker thread (the same bytes and options, so the same bits): `predict` then leaves the
   * calling thread free while the model scores, for a caller with other work meanwhile (`score batch` reads and
   * writes). Off by default: a single small run costs a message each way. `"auto"`: in a worker unless the model
   * scores a row in under {@linkcode WORKER_MIN_ROW_US} microseconds (measured at load, on zeros), for which
   * copying its rows to a worker and back costs more than the run it moves.
   */
  worker?: boolean | "auto";
  /**
   * Files the caller has just read (the model store, for the model's tag), by path: the `.onnx` file and its data
   * files found here are not read a second time.
   */
  files?: ReadonlyMap<string, Uint8Array>;
}

/**
 * Loads a model. The name defaults to the directory's (or file's) name, the
 * version to the first 12 hex digits of the `.onnx` file's sha256 (with
 * external data, of a digest that covers the data files too: see
 * {@linkcode modelDigest}).
 *
 * @example
 * ```ts
 * const model = await loadModel("models/ride-duration-linreg", { intraOpThreads: 1 });
 * model.name; // "ride-duration-linreg"
 * ```
 */
export async function loadModel(path: string, options: LoadOptions = {}): Promise<Model> {
  const { onnxPath, manifestPath, defaultName } = await locate(path);
  const manifest = options.manifest ?? (manifestPath ? await readManifest(manifestPath) : {});
  const bytes = options.files?.get(onnxPath) ?? await readWholeFile(onnxPath);
  const externalData = await readExternalData(bytes, dirname(onnxPath), onnxPath, options.files);
  const ortOptions = sessionOptions(options, externalData);
  let loaded: Uint8Array = bytes;
  // A model asked for in a worker is made there first: its session serves the metadata and the trial run through
  // the worker, and no second session holds the model's memory. So is a large one that may go there (`auto`, see
  // WORKER_FIRST_BYTES), which comes back to this thread only if it turns out light.
  const workerFirst = options.worker === true || (options.worker === "auto" && bytes.length >= WORKER_FIRST_BYTES);
  const making = workerFirst ? inWorkerOnly(loaded, onnxPath, ortOptions) : createSession(loaded, onnxPath, ortOptions);
  const warnings: string[] = [];
  // Read while the worker makes the session, which for a large model takes seconds (on this thread, before it).
  const facts = readFacts(bytes, onnxPath, warnings);
  let session: DescribedSession = await making;
  // The session to release if loading fails: none while one is being replaced.
  let owned: DescribedSession | undefined = session;
  try {
    // Only a model with a non-tensor output is decoded and rewritten: any other loads byte for byte.
    const zipLabels = new Map<string, string[]>();
    if (session.outputMetadata.some((m) => !m.isTensor)) {
      const unzipped = await unzipFile(bytes, onnxPath);
      if (unzipped !== undefined) {
        owned = undefined;
        await session.release();
        loaded = unzipped.bytes;
        owned = session = workerFirst
          ? await inWorkerOnly(loaded, onnxPath, ortOptions)
          : await createSession(loaded, onnxPath, ortOptions);
        for (const z of unzipped.outputs) zipLabels.set(z.output, z.labels);
      }
    }
    checkManifest(manifest, session.inputNames, session.outputNames, manifestPath ?? onnxPath);
    const { inputs, fixedBatch } = inputLayout(session.inputMetadata, manifest, onnxPath);
    checkInputColumns(inputs, onnxPath);
    for (const input of inputs) {
      const categories = facts.categories.get(input.name);
      if (categories?.length === input.columns.length) input.categories = categories;
    }
    const outputs = await outputLayout(
      session,
      {
        manifest,
        inputs,
        fixedBatch,
        zipLabels,
        classLabels: facts.classLabels,
        renames: options.renames,
        where: onnxPath,
      },
      warnings,
    );
    const version = manifest.version ?? defaultVersion(bytes, externalData);
    let runner: Session = session;
    const toWorker = await wantsWorker(session, options.worker, inputs, fixedBatch, outputs, workerFirst);
    if (workerFirst && !toWorker) {
      // A large model that scores fast after all: on this thread, like any light one.
      runner = await createSession(loaded, onnxPath, ortOptions);
      owned = undefined;
      await session.release().catch(() => {});
    } else if (!workerFirst && toWorker) {
      // The in-process session served the metadata and the trial run; the worker's runs from here.
      runner = await inWorker(loaded, onnxPath, ortOptions);
      owned = undefined;
      await session.release().catch(() => {});
    }
    return new Model({
      session: runner,
      inWorker: toWorker,
      name: manifest.name ?? defaultName,
      version,
      description: manifest.description ?? "",
      path,
      inputs,
      outputs,
      fixedBatch,
      warnings,
      strictCategories: options.strictCategories ?? manifest.strictCategories ?? false,
    });
  } catch (err) {
    await owned?.release();
    throw err;
  }
}

/**
 * A model file at least this large, loaded with `worker: "auto"`, is made in its worker first (and again on the
 * calling thread only if it scores a row faster than {@linkcode WORKER_MIN_ROW_US}): its session takes long to make
 * and much memory to hold, and such a model is most often heavy (a forest, a boosted ensemble).
 */
export const WORKER_FIRST_BYTES = 4 * 1024 * 1024;

/**
 * The model's session in a worker, and onnxruntime loaded on this thread too (without a session): this thread makes
 * the tensors it sends the worker and those it gets back.
 */
async function inWorkerOnly(
  bytes: Uint8Array,
  onnxPath: string,
  options: ort.InferenceSession.SessionOptions,
): Promise<DescribedSession> {
  const [session, here] = await Promise.allSettled([openWorkerSession(bytes, options), loadOnnxruntime()]);
  if (here.status === "rejected") {
    if (session.status === "fulfilled") await session.value.release().catch(() => {});
    throw here.reason;
  }
  if (session.status === "rejected") {
    // Worded as a model that fails on this thread is: where it fails is no concern of the user's.
    const err = session.reason as Error;
    throw ModelError.badModel(`Cannot load model ${onnxPath}: ${err.message}`, { cause: err });
  }
  return session.value;
}

/**
 * A model that scores a row faster than this runs on the calling thread with `worker: "auto"`: copying its rows to
 * a worker and back costs more than its run, while a heavier model frees the job's thread by running in a worker
 * (measured in bench/NOTES.md).
 */
export const WORKER_MIN_ROW_US = 0.25;

/** Whether the model goes to a worker: as asked, or with `"auto"` as its cost a row says. */
async function wantsWorker(
  session: DescribedSession,
  worker: LoadOptions["worker"],
  inputs: readonly InputSpec[],
  fixedBatch: number | null,
  outputs: readonly OutputSpec[],
  inWorker: boolean,
): Promise<boolean> {
  if (worker !== "auto") return worker === true;
  // Four times the threshold is heavy beyond doubt, a quarter of it light beyond doubt: no need for more runs.
  const names = outputs.map((o) => o.name);
  // A session in a worker (a large model's, made there first) costs each run two messages: taken off, not counted
  // as rows.
  const cost = await runCost(session, inputs, fixedBatch, names, 4 * WORKER_MIN_ROW_US, WORKER_MIN_ROW_US / 4, {
    lessFixed: inWorker,
  });
  // A model that refuses zeros goes to a worker, as a heavy one does.
  return cost === undefined || cost >= WORKER_MIN_ROW_US;
}

async function createSession(
  bytes: Uint8Array,
  onnxPath: string,
  options: ort.InferenceSession.SessionOptions,
): Promise<ort.InferenceSession> {
  try {
    return await (await loadOnnxruntime()).InferenceSession.create(bytes, options);
  } catch (err) {
    throw ModelError.badModel(`Cannot load model ${onnxPath}: ${(err as Error).message}`, { cause: err });
  }
}

/** The same model, loaded from the same bytes with the same options, in a worker. */
async function inWorker(
  bytes: Uint8Array,
  onnxPath: string,
  options: ort.InferenceSession.SessionOptions,
): Promise<DescribedSession> {
  try {
    return await openWorkerSession(bytes, options);
  } catch (err) {
    throw ModelError.badModel(`Cannot load model ${onnxPath} in a worker: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * onnxruntime's options. A session made from bytes has no folder to find a graph's external data files in (it looks
 * in the working directory), so they are given to it read: it copies them, where files it read itself would stay
 * mapped, and a data file overwritten in place would change (or, truncated, crash) the model serving.
 */
function sessionOptions(options: LoadOptions, externalData: ExternalFile[]): ort.InferenceSession.SessionOptions {
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: options.graphOptimization ?? "all",
    // Fatal only: warnings (a declared output shape that differs from the real one) and a failed run's error line
    // would print raw text amid the JSON logs; the failure itself comes back as the error onnxruntime throws.
    logSeverityLevel: 4,
  };
  if (externalData.length > 0) sessionOptions.externalData = externalData.map(({ path, data }) => ({ path, data }));
  // onnxruntime rejects an explicit undefined: leave the key out for its default.
  const threads = options.intraOpThreads ?? 1;
  if (threads > 0) sessionOptions.intraOpNumThreads = threads;
  return sessionOptions;
}

/** The graph's class labels and known categories; none (and a warning) when the graph cannot be read. */
function readFacts(bytes: Uint8Array, onnxPath: string, warnings: string[]): GraphFacts {
  try {
    return graphFacts(bytes);
  } catch (err) {
    // onnxruntime reads the model: only the names and checks read off the graph are lost.
    warnings.push(
      `Cannot read class labels and known categories from the graph of ${onnxPath}: ${(err as Error).message}`,
    );
    return { classLabels: new Map(), categories: new Map() };
  }
}

async function unzipFile(bytes: Uint8Array, onnxPath: string) {
  // The rewriting's code (onnx-proto, protobufjs: the graph decoded and encoded again) loads only for such a model.
  const { unzipMaps } = await lazyImport<typeof ZipMap>(new URL("./zipmap.ts", import.meta.url));
  try {
    return unzipMaps(bytes);
  } catch (err) {
    throw ModelError.badModel(`Cannot read the graph of ${onnxPath}: ${(err as Error).message}`, { cause: err });
  }
}

async function locate(path: string) {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw ModelError.notFound(`Model not found: "${path}" does not exist`);
    throw ModelError.badModel(`Cannot read model "${path}": ${(err as Error).message}`, { cause: err });
  }
  if (stat.isDirectory) {
    const onnxPath = join(path, "model.onnx");
    if (!(await exists(onnxPath))) {
      throw ModelError.notFound(`Model not found: directory "${path}" has no model.onnx`);
    }
    const manifestPath = join(path, "model.json");
    return {
      onnxPath,
      manifestPath: (await exists(manifestPath)) ? manifestPath : undefined,
      defaultName: basename(path.replace(/\/+$/, "")),
    };
  }
  const sibling = join(dirname(path), "model.json");
  return {
    onnxPath: path,
    manifestPath: basename(path) === "model.onnx" && (await exists(sibling)) ? sibling : undefined,
    defaultName: basename(path).replace(/\.onnx$/, ""),
  };
}

async function readManifest(path: string): Promise<Manifest> {
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(path));
  } catch (err) {
    throw ModelError.badModel(`Invalid model manifest ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseManifest(raw, path);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The first 12 hex digits of the model's digest: the `.onnx`'s sha256, covering its data files when it has some. */
function defaultVersion(bytes: Uint8Array, externalData: ExternalFile[]): string {
  const files = new Map(externalData.map((f) => [f.name, f.data]));
  return modelDigest(sha256Hex(bytes), [...files].map(([name, data]) => [name, sha256Hex(data)])).slice(0, 12);
}
