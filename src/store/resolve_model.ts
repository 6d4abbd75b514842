/**
 * Turns a `--model` value into files on disk and what the store knows about
 * them: fetches a remote model into the cache within a deadline and a size
 * bound (or, when its store cannot be reached, takes the last good copy),
 * reads an MLflow `MLmodel`, and builds the manifest `loadModel` gets.
 */
import { createHash } from "node:crypto";
import { basename, dirname, join, posix } from "node:path";
import { UnavailableError, UsageError } from "../errors.ts";
import { log } from "../log.ts";
import {
  externalDataFiles,
  type GraphInput,
  graphInputs,
  type Manifest,
  ModelError,
  parseManifest,
} from "../model/mod.ts";
import type * as MlflowModel from "./mlflow_model.ts";
import type { SignatureInput } from "./mlflow_model.ts";
import { type CachedCopy, type CheckDepth, type CopyFile, ModelCache } from "./model_cache.ts";
import { type ModelUri, parseModelUri } from "./model_uri.ts";
import { download, type Remote, type RemoteFile } from "./remote.ts";
import type * as HttpStore from "./http_store.ts";
import type * as S3Store from "./s3_store.ts";
import { s3Config } from "./s3_config.ts";
import { lazyImport } from "../lazy_import.ts";
import { readWholeFile } from "../read_whole_file.ts";
import { sha256Hex } from "../sha256_hex.ts";

import { MODEL_MAX_BYTES, MODEL_TIMEOUT_SECONDS } from "./fetch_limits.ts";

export { MODEL_MAX_BYTES, MODEL_TIMEOUT_SECONDS };

/** Where remote models are kept, how long and how large a fetch may be, and the environment of the S3 settings. */
export interface ResolveOptions {
  cacheDir: string;
  env?: Record<string, string | undefined>;
  /** Aborts the store's requests in progress (the last good copy is used then, as when the store is down). */
  signal?: AbortSignal;
  /** The most a fetch (listing and every file) may take, in seconds; {@linkcode MODEL_TIMEOUT_SECONDS} by default. */
  timeoutSeconds?: number;
  /** The most bytes the model's files may hold together; {@linkcode MODEL_MAX_BYTES} by default. */
  maxBytes?: number;
  /**
   * The tag of the copy serving now (a reload): that copy is not loaded again, so its files are checked for
   * their length only, not hashed.
   */
  serving?: string;
}

/** A model's files on disk and what its store says about them. */
export interface ResolvedModel {
  /** The `--model` value, secrets hidden. */
  uri: string;
  /** The ONNX file to load. */
  onnxPath: string;
  /** The manifest to load it with: `model.json`, the MLflow run id and signature, `#name`. */
  manifest: Manifest;
  /** The identity of the content: it changes when any file of the model changes. */
  tag: string;
  /** The MLflow signature's named inputs (empty without one). */
  signature: SignatureInput[];
  /** Set when the store could not be reached and the last good copy is used. */
  stale?: { resolvedAt: string; reason: string };
  /** For a remote model, the cache it is in: {@linkcode markGood} records it there once it loaded. */
  cached?: { cacheDir: string; where: string };
  /**
   * The files resolving read (a local model's `.onnx` and data files, for its tag), by path: the load takes them (see
   * `loadResolved`), so each is read once and a resolved model kept for reloads holds no copy.
   */
  files?: Map<string, Uint8Array>;
}

/**
 * Resolves a `--model` value: a local path (a model directory, an MLflow
 * model directory, an `.onnx` file, `file://`), `s3://bucket/prefix` or an
 * `http(s)://` URL; `#name=` names the model, `#sha256=` pins an `.onnx` file.
 *
 * @example
 * ```ts
 * const r = await resolveModel("s3://mlflow/1/e1efc53e/artifacts/model", { cacheDir: "/tmp/score-cache" });
 * r.manifest.version; // "e1efc53e" (the run id)
 * ```
 */
export async function resolveModel(value: string, options: ResolveOptions): Promise<ResolvedModel> {
  const uri = parseModelUri(value);
  if (uri.kind === "local") return await resolveLocal(uri);
  const seconds = options.timeoutSeconds ?? MODEL_TIMEOUT_SECONDS;
  const deadline = new AbortController();
  const cancel = options.signal === undefined ? deadline.signal : AbortSignal.any([options.signal, deadline.signal]);
  // Each store's client (aws4fetch and an XML parser for S3) loads only for a model there.
  const remote: Remote = uri.kind === "s3"
    ? new (await lazyImport<typeof S3Store>(new URL("./s3_store.ts", import.meta.url))).S3Store(
      uri.bucket,
      uri.key,
      s3Config(options.env),
      cancel,
    )
    : new (await lazyImport<typeof HttpStore>(new URL("./http_store.ts", import.meta.url))).HttpStore(uri.url, cancel);
  const path = uri.kind === "s3" ? uri.key : decodeURIComponent(uri.url.pathname);
  const single = /\.onnx$/.test(path) ? posix.basename(path) : undefined;
  if (uri.sha256 !== undefined && single === undefined) {
    throw new UsageError(`--model "${uri.text}": a #sha256 pin names one .onnx file, not a directory`);
  }
  const cache = new ModelCache(options.cacheDir);
  const depth = (tag: string): CheckDepth => tag === options.serving ? "length" : "full";
  const pinned = (copy: CachedCopy) =>
    uri.sha256 === undefined || copy.files.find((f) => f.name === single)?.sha256 === uri.sha256;
  let copy: CachedCopy;
  let stale: ResolvedModel["stale"];
  const timer = setTimeout(() => {
    deadline.abort(
      new UnavailableError(
        `The model store did not deliver ${remote.where} within ${seconds} s (--model-timeout, SCORE_MODEL_TIMEOUT)`,
      ),
    );
  }, seconds * 1000);
  try {
    copy = await fetchIntoCache(remote, cache, uri.sha256, options.maxBytes ?? MODEL_MAX_BYTES, depth);
  } catch (err) {
    if (!(err instanceof UnavailableError)) throw err;
    const last = await cache.lastGood(remote.where, depth, pinned);
    if (last === undefined) {
      throw new UnavailableError(`${err.message}; no copy of it is cached in ${options.cacheDir}`, { cause: err });
    }
    copy = last;
    stale = { resolvedAt: last.resolvedAt, reason: err.message };
  } finally {
    clearTimeout(timer);
  }
  if (uri.sha256 !== undefined && !pinned(copy)) {
    checkPin(copy.files.find((f) => f.name === single)?.sha256 ?? "(none)", uri.sha256, remote.where);
  }
  const resolved = await describe(uri, copy.dir, single, true, nameOf(path));
  return { ...resolved, tag: copy.tag, stale, cached: { cacheDir: options.cacheDir, where: remote.where } };
}

/**
 * Records a remote model's copy as good once it loaded: the copy that serves
 * when its store is down. Nothing that did not load is ever recorded.
 *
 * @example
 * ```ts
 * const resolved = await resolveModel(uri, store);
 * const model = await loadModel(resolved.onnxPath, { manifest: resolved.manifest });
 * await markGood(resolved);
 * ```
 */
export async function markGood(resolved: ResolvedModel): Promise<void> {
  if (resolved.cached === undefined) return;
  await new ModelCache(resolved.cached.cacheDir).remember(resolved.cached.where, resolved.tag);
}

async function fetchIntoCache(
  remote: Remote,
  cache: ModelCache,
  pin: string | undefined,
  maxBytes: number,
  depth: (tag: string) => CheckDepth,
): Promise<CachedCopy> {
  const files = await remote.list();
  const etags = (all: RemoteFile[]) =>
    all.every((f) => f.etag !== undefined) ? tagOf(all.map((f) => [f.name, f.etag!])) : undefined;
  if (etags(files) !== undefined) {
    // With every ETag known, a copy of the same content is found without downloading anything. The data files a
    // graph names are not in a listing of one file or of a folder URL: those that copies of the same listing hold
    // are asked for by name, so that a copy whose data files changed is not taken.
    const listed = files.map((f) => f.name);
    for (const extra of [[], ...await cache.extras(remote.where, listed)]) {
      const more = await Promise.all(extra.map((name) => remote.beside(name).catch(() => undefined)));
      const tag = more.every((f) => f !== undefined) ? etags([...files, ...more]) : undefined;
      const found = tag === undefined ? undefined : await cache.find(remote.where, tag, depth(tag));
      if (found !== undefined) return found;
    }
  }
  return await cache.fill(remote.where, async (tmp) => {
    const fetched: RemoteFile[] = [];
    const written: CopyFile[] = [];
    let before = 0;
    const fetch = async (file: RemoteFile) => {
      await Deno.mkdir(dirname(join(tmp, file.name)), { recursive: true });
      const { bytes, sha256 } = await download(remote, file, join(tmp, file.name), maxBytes, before);
      if (pin !== undefined && file.name.endsWith(".onnx")) checkPin(sha256, pin, remote.where);
      fetched.push(file);
      written.push({ name: file.name, bytes, sha256 });
      before += bytes;
    };
    for (const file of files) await fetch(file);
    // The external data files a graph names, fetched from beside it when the listing did not give them.
    for (const graph of files.filter((f) => f.name.endsWith(".onnx"))) {
      const bytes = await Deno.readFile(join(tmp, graph.name));
      for (const name of externalDataFiles(bytes, `${remote.where} (${graph.name})`)) {
        if (!fetched.some((f) => f.name === name)) await fetch(await remote.beside(name));
      }
    }
    return { tag: etags(fetched) ?? tagOf(written.map((f) => [f.name, f.sha256])), files: written };
  });
}

async function resolveLocal(uri: ModelUri & { kind: "local" }): Promise<ResolvedModel> {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(uri.path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw ModelError.notFound(`Model not found: "${uri.text}" does not exist`);
    throw ModelError.notFound(`Cannot read model "${uri.text}": ${(err as Error).message}`, { cause: err });
  }
  const resolved = stat.isDirectory
    ? await describe(uri, uri.path, undefined, true, nameOf(uri.path))
    : await describe(uri, dirname(uri.path), basename(uri.path), basename(uri.path) === "model.onnx", nameOf(uri.path));
  const beside = dirname(resolved.onnxPath);
  const onnx = resolved.files?.get(resolved.onnxPath) ?? await readWholeFile(resolved.onnxPath).catch(() => undefined);
  // The data files its graph names are the model too: new weights in them are a new model to reload.
  const data = onnx === undefined ? [] : externalDataFiles(onnx, resolved.onnxPath).map((name) => join(beside, name));
  const files = [resolved.onnxPath, join(beside, "MLmodel"), join(beside, "model.json"), ...data];
  const digests: [string, string][] = [];
  const read = new Map<string, Uint8Array>();
  for (const f of files) {
    const bytes = f === resolved.onnxPath ? onnx : await readWholeFile(f).catch(() => undefined);
    if (bytes === undefined) continue;
    digests.push([f, sha256Hex(bytes)]);
    read.set(f, bytes);
  }
  return { ...resolved, tag: tagOf(digests), files: read };
}

/**
 * Reads a model folder: which ONNX file (`onnxName`, else the `MLmodel`'s,
 * else `model.json`), and the manifest: `model.json` (when `withManifest`)
 * or the MLflow signature, the run id as version, `#name` over every name.
 */
async function describe(
  uri: ModelUri,
  dir: string,
  onnxName: string | undefined,
  withManifest: boolean,
  defaultName: string,
): Promise<Omit<ResolvedModel, "tag">> {
  const mlflow = onnxName === undefined ? await readMlflow(dir) : undefined;
  const onnxPath = join(dir, onnxName ?? mlflow?.onnxFile ?? await onnxFileIn(dir, uri.text));
  try {
    if (!(await Deno.stat(onnxPath)).isFile) throw new Deno.errors.NotFound();
  } catch {
    const what = mlflow
      ? `does not hold ${mlflow.onnxFile}, the ONNX file its MLmodel names`
      : "has no model.onnx (nor any other .onnx file, nor an MLmodel)";
    throw ModelError.notFound(`Model not found: "${uri.text}" ${what}`);
  }
  // The `.onnx` read here (for a pin, a signature) is handed on (`files`), so that it is read once.
  let onnx: Uint8Array | undefined;
  // A remote copy's pin was checked against the digest it was downloaded with.
  if (uri.sha256 !== undefined && uri.kind === "local") {
    onnx = await readWholeFile(onnxPath);
    checkPin(sha256Hex(onnx), uri.sha256, uri.text);
  }
  const fromFile = withManifest ? await readManifest(join(dir, "model.json")) : undefined;
  const fromSignature: Manifest = mlflow && mlflow.inputs.length > 0 && fromFile === undefined
    ? signatureManifest(mlflow.inputs, graphInputs(onnx ??= await readWholeFile(onnxPath)))
    : {};
  const manifest: Manifest = { ...(fromFile ?? fromSignature), name: uri.name ?? fromFile?.name ?? defaultName };
  // MLflow's run id is the version the course reports, whatever a model.json beside it says.
  const version = mlflow?.runId ?? fromFile?.version;
  if (version !== undefined) manifest.version = version;
  else delete manifest.version;
  const files = onnx === undefined ? undefined : new Map([[onnxPath, onnx]]);
  return { uri: uri.text, onnxPath, manifest, signature: mlflow?.inputs ?? [], files };
}

async function readManifest(path: string): Promise<Manifest | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return undefined;
  }
  try {
    return parseManifest(JSON.parse(text), path);
  } catch (err) {
    if (err instanceof ModelError) throw err;
    throw ModelError.badModel(`Invalid model manifest ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * What an MLflow signature says about the graph's inputs: a column MLflow
 * marks required makes its input required; a graph with one `[N,K]` input
 * whose name the signature does not use (an export with a single tensor
 * input, logged with a DataFrame's signature) is fed by the signature's
 * columns, in order.
 */
export function signatureManifest(signature: SignatureInput[], graph: GraphInput[]): Manifest {
  const names = new Set(graph.map((g) => g.name));
  const inputs: NonNullable<Manifest["inputs"]> = {};
  for (const s of signature) if (names.has(s.name) && s.required) inputs[s.name] = { required: true };
  const only = graph.length === 1 ? graph[0] : undefined;
  const width = only?.shape.length === 2 ? only.shape[1] : undefined;
  const columns = signature.filter((s) => s.type !== "tensor");
  if (
    only !== undefined && width !== undefined && width !== 1 && signature.every((s) => !names.has(s.name)) &&
    columns.length === signature.length && (typeof width !== "number" || width === columns.length)
  ) {
    inputs[only.name] = {
      columns: columns.map((s) => s.name),
      ...(columns.every((s) => s.required) ? { required: true } : {}),
    };
  }
  return Object.keys(inputs).length > 0 ? { inputs } : {};
}

function checkPin(actual: string, pin: string, where: string): void {
  if (actual !== pin) {
    throw ModelError.badModel(
      `The model at ${where} does not match its pin: its sha256 is ${actual}, the pin (#sha256=) is ${pin}`,
    );
  }
}

/**
 * The ONNX file of a folder with neither an MLmodel nor a file named by
 * the caller: `model.onnx`, else its only `.onnx` file (as exporters name
 * them, `titanic.onnx`); several others are refused, naming them.
 */
async function onnxFileIn(dir: string, text: string): Promise<string> {
  const found: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.isFile && /\.onnx$/i.test(e.name)) found.push(e.name);
  } catch {
    return "model.onnx"; // not a readable folder: the caller says the model is not found
  }
  if (found.length === 0 || found.includes("model.onnx")) return "model.onnx";
  if (found.length > 1) {
    throw ModelError.notFound(
      `Model not found: "${text}" has no model.onnx and several other .onnx files (${found.sort().join(", ")}): ` +
        "name the one to use (--model <folder>/<file>.onnx), or rename it model.onnx",
    );
  }
  log.info("model folder has one .onnx file, not named model.onnx: using it", { model: text, file: found[0] });
  return found[0];
}

/** A model's default name: its folder's, or its file's without `.onnx` (a `model.onnx`'s folder's). */
function nameOf(path: string): string {
  const parts = path.replace(/\/+$/, "").split("/");
  const last = parts.pop() ?? "";
  if (last === "model.onnx" && parts.at(-1)) return parts.at(-1)!;
  return last.replace(/\.onnx$/, "") || "model";
}

/**
 * What identifies a model's content: its files' names and digests (or ETags), in the order of their names, hashed.
 * The order is the names' UTF-16 code units, not `localeCompare`'s: that one depended on the machine's language (under
 * `LANG=cs_CZ` "ch" sorts after "h"), so one model could get two tags, and its first call loads ICU's collation data
 * into every command's start.
 *
 * @example
 * ```ts
 * tagOf([["model.onnx", "3f2a..."], ["MLmodel", "9c1e..."]]); // 32 hex digits
 * ```
 */
export function tagOf(entries: [string, string][]): string {
  const h = createHash("sha256");
  const byName = (a: [string, string], b: [string, string]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  for (const [name, id] of [...entries].sort(byName)) h.update(`${name}\0${id}\n`);
  return h.digest("hex").slice(0, 32);
}

/** `<dir>/MLmodel` read, or undefined when there is none: its parser (and YAML) loads only for an MLflow model. */
async function readMlflow(dir: string): Promise<MlflowModel.MlflowModel | undefined> {
  const there = await Deno.stat(join(dir, "MLmodel")).then(() => true, (err) => !(err instanceof Deno.errors.NotFound));
  if (!there) return undefined;
  const { readMlflowModel } = await lazyImport<typeof MlflowModel>(new URL("./mlflow_model.ts", import.meta.url));
  return await readMlflowModel(dir);
}
