/**
 * Loads a model directory (`model.onnx` + optional `model.json`) or a bare
 * `.onnx` file into a {@linkcode Model}.
 */
import * as ort from "onnxruntime-node";
import { basename, dirname, join } from "node:path";
import type { TensorType } from "./coerce.ts";
import { type Manifest, parseManifest } from "./manifest.ts";
import { type InputSpec, Model, type OutputSpec } from "./model.ts";
import { ModelError } from "./model_error.ts";

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
}

const TENSOR_TYPES = new Set<string>([
  "float32",
  "float64",
  "int8",
  "int16",
  "int32",
  "int64",
  "uint8",
  "uint16",
  "uint32",
  "uint64",
  "bool",
  "string",
]);

/**
 * Loads a model. The name defaults to the directory's (or file's) name, the
 * version to the first 12 hex digits of the `.onnx` file's sha256.
 *
 * @example
 * ```ts
 * const model = await loadModel("models/ride-duration-linreg", { intraOpThreads: 1 });
 * model.name; // "ride-duration-linreg"
 * ```
 */
export async function loadModel(path: string, options: LoadOptions = {}): Promise<Model> {
  const { onnxPath, manifestPath, defaultName } = await locate(path);
  const manifest = manifestPath ? await readManifest(manifestPath) : {};
  const bytes = await Deno.readFile(onnxPath);
  let session: ort.InferenceSession;
  try {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: options.graphOptimization ?? "all",
    };
    // onnxruntime rejects an explicit undefined: leave the key out for its default.
    const threads = options.intraOpThreads ?? 1;
    if (threads > 0) sessionOptions.intraOpNumThreads = threads;
    session = await ort.InferenceSession.create(bytes, sessionOptions);
  } catch (err) {
    throw ModelError.badModel(`Cannot load model ${onnxPath}: ${(err as Error).message}`, { cause: err });
  }
  const warnings: string[] = [];
  try {
    const inputs = session.inputMetadata.map((m): InputSpec => {
      if (!m.isTensor) throw ModelError.badModel(`Input "${m.name}" of ${onnxPath} is not a tensor`);
      const shape = m.shape;
      const rowShape = shape.length === 1 || (shape.length === 2 && shape[1] === 1);
      if (!TENSOR_TYPES.has(m.type) || !rowShape) {
        throw ModelError.badModel(
          `Input "${m.name}" of ${onnxPath} is ${m.type} [${shape.map(dim)}]; ` +
            `only inputs of shape [N] or [N,1] with a numeric, bool or string type are supported`,
        );
      }
      const spec = manifest.inputs?.[m.name] ?? {};
      return {
        name: m.name,
        type: m.type as TensorType,
        shape,
        aliases: spec.aliases ?? [],
        required: spec.required ?? false,
      };
    });
    const outputs: OutputSpec[] = [];
    for (const m of session.outputMetadata) {
      if (!m.isTensor || !TENSOR_TYPES.has(m.type)) {
        warnings.push(
          `Output "${m.name}" of model ${onnxPath} is not a tensor of a supported type (a ZipMap?); it is left out`,
        );
        continue;
      }
      const spec = manifest.outputs?.[m.name] ?? {};
      const k = m.shape.length === 2 && typeof m.shape[1] === "number" ? m.shape[1] : 1;
      const base = options.renames?.[m.name] ?? spec.rename ?? m.name;
      let columns = k === 1 ? [base] : Array.from({ length: k }, (_, i) => spec.labels?.[i] ?? `${base}_${i}`);
      if (spec.labels && spec.labels.length !== k) {
        throw ModelError.badModel(
          `Output "${m.name}" has ${k} columns but the manifest gives ${spec.labels.length} labels`,
        );
      }
      columns = columns.map((c) => options.renames?.[c] ?? c);
      outputs.push({ name: m.name, type: m.type as TensorType, shape: m.shape, columns });
    }
    if (outputs.length === 0) throw ModelError.badModel(`Model ${onnxPath} has no tensor output to predict`);
    return new Model({
      session,
      name: manifest.name ?? defaultName,
      version: manifest.version ?? await shortSha256(bytes),
      description: manifest.description ?? "",
      path,
      inputs,
      outputs,
      warnings,
    });
  } catch (err) {
    await session.release();
    throw err;
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

async function shortSha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return Array.from(digest.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
}

function dim(d: number | string): string {
  return typeof d === "number" ? String(d) : d || "?";
}
