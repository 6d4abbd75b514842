/**
 * Turns a `--model` value into files on disk and what the store knows about
 * them: fetches a remote model into the cache (or, when its store cannot be
 * reached, takes the copy last fetched), reads an MLflow `MLmodel`, and
 * builds the manifest `loadModel` gets.
 */
import { createHash } from "node:crypto";
import { basename, dirname, join, posix } from "node:path";
import { UnavailableError, UsageError } from "../errors.ts";
import { type GraphInput, graphInputs, type Manifest, ModelError, parseManifest } from "../model/mod.ts";
import { readMlflowModel, type SignatureInput } from "./mlflow_model.ts";
import { ModelCache } from "./model_cache.ts";
import { type ModelUri, parseModelUri } from "./model_uri.ts";
import { download, type Remote } from "./remote.ts";
import { HttpStore } from "./http_store.ts";
import { s3Config, S3Store } from "./s3_store.ts";

/** Where remote models are kept, and the environment the S3 settings come from. */
export interface ResolveOptions {
  cacheDir: string;
  env?: Record<string, string | undefined>;
  /** Aborts the store's requests in progress (the copy last fetched is used then, as when the store is down). */
  signal?: AbortSignal;
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
  /** Set when the store could not be reached and the copy last fetched is used. */
  stale?: { resolvedAt: string; reason: string };
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
  const remote: Remote = uri.kind === "s3"
    ? new S3Store(uri.bucket, uri.key, s3Config(options.env), options.signal)
    : new HttpStore(uri.url, options.signal);
  const single = remote.where.endsWith(".onnx") || /\.onnx$/.test(uri.kind === "http" ? uri.url.pathname : "");
  if (uri.sha256 !== undefined && !single) {
    throw new UsageError(`--model "${uri.text}": a #sha256 pin names one .onnx file, not a directory`);
  }
  const cache = new ModelCache(options.cacheDir);
  let copy: { tag: string; dir: string };
  let stale: ResolvedModel["stale"];
  try {
    copy = await fetchIntoCache(remote, cache, uri.sha256);
    await cache.remember(remote.where, copy.tag);
  } catch (err) {
    if (!(err instanceof UnavailableError)) throw err;
    const last = await cache.last(remote.where);
    if (last === undefined) {
      throw new UnavailableError(`${err.message}; no copy of it is cached in ${options.cacheDir}`, { cause: err });
    }
    copy = last;
    stale = { resolvedAt: last.resolvedAt, reason: err.message };
  }
  const path = uri.kind === "s3" ? uri.key : decodeURIComponent(uri.url.pathname);
  const resolved = await describe(uri, copy.dir, single ? posix.basename(path) : undefined, true, nameOf(path));
  return { ...resolved, tag: copy.tag, stale };
}

async function fetchIntoCache(remote: Remote, cache: ModelCache, pin: string | undefined) {
  const files = await remote.list();
  // With every ETag known, a copy of the same content is found without downloading anything.
  const byEtag = files.every((f) => f.etag !== undefined) ? tagOf(files.map((f) => [f.name, f.etag!])) : undefined;
  const found = byEtag === undefined ? undefined : await cache.find(remote.where, byEtag);
  if (found !== undefined) return { tag: byEtag!, dir: found };
  return await cache.fill(remote.where, async (tmp) => {
    const digests: [string, string][] = [];
    for (const file of files) {
      const { sha256 } = await download(remote, file, join(tmp, file.name));
      if (pin !== undefined && file.name.endsWith(".onnx")) checkPin(sha256, pin, remote.where);
      digests.push([file.name, sha256]);
    }
    return byEtag ?? tagOf(digests);
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
  const files = [resolved.onnxPath, join(beside, "MLmodel"), join(beside, "model.json")];
  const digests: [string, string][] = [];
  for (const f of files) {
    const bytes = await Deno.readFile(f).catch(() => undefined);
    if (bytes !== undefined) digests.push([f, createHash("sha256").update(bytes).digest("hex")]);
  }
  return { ...resolved, tag: tagOf(digests) };
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
  const mlflow = onnxName === undefined ? await readMlflowModel(dir) : undefined;
  const onnxPath = join(dir, onnxName ?? mlflow?.onnxFile ?? "model.onnx");
  try {
    if (!(await Deno.stat(onnxPath)).isFile) throw new Deno.errors.NotFound();
  } catch {
    const what = mlflow
      ? `does not hold ${mlflow.onnxFile}, the ONNX file its MLmodel names`
      : "has no model.onnx (nor an MLmodel)";
    throw ModelError.notFound(`Model not found: "${uri.text}" ${what}`);
  }
  if (uri.sha256 !== undefined) {
    checkPin(createHash("sha256").update(await Deno.readFile(onnxPath)).digest("hex"), uri.sha256, uri.text);
  }
  const fromFile = withManifest ? await readManifest(join(dir, "model.json")) : undefined;
  const fromSignature: Manifest = mlflow && mlflow.inputs.length > 0 && fromFile === undefined
    ? signatureManifest(mlflow.inputs, graphInputs(await Deno.readFile(onnxPath)))
    : {};
  const manifest: Manifest = { ...(fromFile ?? fromSignature), name: uri.name ?? fromFile?.name ?? defaultName };
  // MLflow's run id is the version the course reports, whatever a model.json beside it says.
  const version = mlflow?.runId ?? fromFile?.version;
  if (version !== undefined) manifest.version = version;
  else delete manifest.version;
  return { uri: uri.text, onnxPath, manifest, signature: mlflow?.inputs ?? [] };
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

/** A model's default name: its folder's, or its file's without `.onnx`. */
function nameOf(path: string): string {
  const last = path.replace(/\/+$/, "").split("/").pop() ?? "";
  return last.replace(/\.onnx$/, "") || "model";
}

function tagOf(entries: [string, string][]): string {
  const h = createHash("sha256");
  for (const [name, id] of [...entries].sort((a, b) => a[0].localeCompare(b[0]))) h.update(`${name}\0${id}\n`);
  return h.digest("hex").slice(0, 32);
}
