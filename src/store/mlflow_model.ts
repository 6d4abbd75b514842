/**
 * Reads an MLflow model directory's `MLmodel` file: which file holds the
 * ONNX graph (the `onnx` flavour's `data`), the run id (the version the
 * course reports), and the input signature.
 */
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { ModelError } from "../model/mod.ts";
import { isJsonObject } from "../value_codec.ts";

/** One input column of an MLflow signature. */
export interface SignatureInput {
  name: string;
  /** MLflow's type: `double`, `long`, `string`, ... or `tensor`. */
  type: string;
  required?: boolean;
}

/** What score takes from an `MLmodel` file. */
export interface MlflowModel {
  /** The ONNX file, relative to the directory. */
  onnxFile: string;
  /** The run that logged the model, when MLflow recorded it. */
  runId?: string;
  /** Named inputs of the signature (column-based or named tensors); empty without a signature. */
  inputs: SignatureInput[];
}

/**
 * Reads `<dir>/MLmodel`, or returns undefined when there is none. A model
 * without the `onnx` flavour is refused with how to convert it.
 *
 * @example
 * ```ts
 * const m = await readMlflowModel("mlruns/1/e1efc53e/artifacts/model");
 * m?.onnxFile; // "model.onnx"
 * ```
 */
export async function readMlflowModel(dir: string): Promise<MlflowModel | undefined> {
  const path = join(dir, "MLmodel");
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw ModelError.badModel(`Cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseMlmodel(text, path);
}

/**
 * Parses the text of an `MLmodel` file; `where` names it in messages.
 *
 * @example
 * ```ts
 * parseMlmodel("flavors:\n  onnx:\n    data: model.onnx\nrun_id: abc\n", "MLmodel").runId; // "abc"
 * ```
 */
export function parseMlmodel(text: string, where: string): MlflowModel {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw ModelError.badModel(`Invalid MLmodel file ${where}: ${(err as Error).message}`, { cause: err });
  }
  if (!isJsonObject(doc) || !isJsonObject(doc.flavors)) {
    throw ModelError.badModel(`Invalid MLmodel file ${where}: it has no "flavors"`);
  }
  const onnx = doc.flavors.onnx;
  if (!isJsonObject(onnx)) {
    const flavours = Object.keys(doc.flavors).join(", ") || "none";
    throw ModelError.badModel(
      `MLflow model ${where} has no onnx flavour (it has: ${flavours}); score runs ONNX models. ` +
        `Log an ONNX model with mlflow.onnx.log_model, or convert this one to ONNX: see docs/models.md`,
    );
  }
  // A path that leaves the folder (`..`, `/...`, a URL's scheme) would load another file under this run's id.
  if (
    typeof onnx.data !== "string" || onnx.data === "" || onnx.data.includes("..") || onnx.data.startsWith("/") ||
    onnx.data.includes("\\") || /^[a-z][a-z0-9+.-]*:/i.test(onnx.data)
  ) {
    throw ModelError.badModel(`Invalid MLmodel file ${where}: flavors.onnx.data does not name a file in the model`);
  }
  const runId = typeof doc.run_id === "string" && doc.run_id !== "" ? doc.run_id : undefined;
  return { onnxFile: onnx.data, runId, inputs: signatureInputs(doc.signature, where) };
}

// MLflow writes each side of a signature as a JSON string inside the YAML.
function signatureInputs(signature: unknown, where: string): SignatureInput[] {
  if (!isJsonObject(signature) || signature.inputs === undefined || signature.inputs === null) return [];
  let specs: unknown;
  try {
    specs = typeof signature.inputs === "string" ? JSON.parse(signature.inputs) : signature.inputs;
  } catch (err) {
    throw ModelError.badModel(`Invalid MLmodel file ${where}: signature.inputs is not JSON`, { cause: err });
  }
  if (!Array.isArray(specs)) throw ModelError.badModel(`Invalid MLmodel file ${where}: signature.inputs is not a list`);
  return specs.filter((s): s is Record<string, unknown> => isJsonObject(s) && typeof s.name === "string").map((s) => ({
    name: s.name as string,
    type: typeof s.type === "string" ? s.type : "unknown",
    ...(typeof s.required === "boolean" ? { required: s.required } : {}),
  }));
}
