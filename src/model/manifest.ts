/**
 * The small manifest (`model.json`) that sits beside `model.onnx` in a
 * model directory. Every field is optional; a bare `.onnx` file has none.
 *
 * @example
 * ```json
 * {
 *   "name": "churn",
 *   "version": "2024-05",
 *   "description": "Telco churn probability",
 *   "inputs": {
 *     "SeniorCitizen": { "aliases": ["seniorcitizen"] },
 *     "tenure": { "required": true },
 *     "float_input": { "columns": ["sepal_length", "sepal_width", "petal_length", "petal_width"] }
 *   },
 *   "outputs": { "probabilities": { "labels": ["no", "yes"] }, "duration": { "rename": "ride_duration" } },
 *   "strictCategories": true
 * }
 * ```
 */
import { ModelError } from "./model_error.ts";

/** How one ONNX input may be found among a batch's columns. */
export interface InputManifest {
  /** Other column names that feed this input (tried after the input's own name). */
  aliases?: string[];
  /** A null or blank value rejects its row instead of becoming NaN (for a float input). */
  required?: boolean;
  /** For an [N,K] input: the K columns that feed it, in order (required when K is dynamic). */
  columns?: string[];
}

/** How one ONNX output becomes columns. */
export interface OutputManifest {
  /** The column name to use instead of the output's name. */
  rename?: string;
  /** For an [N,K] output: the K column names. */
  labels?: string[];
}

/** The parsed `model.json`. */
export interface Manifest {
  name?: string;
  version?: string;
  description?: string;
  inputs?: Record<string, InputManifest>;
  outputs?: Record<string, OutputManifest>;
  /**
   * Reject a row whose category the model has never seen (of an input whose categories the graph's encoders
   * list), as `--strict-categories` does; false by default.
   */
  strictCategories?: boolean;
}

/**
 * Checks a parsed `model.json` and returns it typed; `where` names the file
 * in error messages.
 *
 * @example
 * ```ts
 * const manifest = parseManifest(JSON.parse(text), "models/churn/model.json");
 * ```
 */
export function parseManifest(raw: unknown, where: string): Manifest {
  const fail = (what: string) => ModelError.badModel(`Invalid model manifest ${where}: ${what}`);
  if (!isObject(raw)) throw fail("it is not a JSON object");
  checkKeys(raw, KEYS.top, "", fail);
  for (const key of ["name", "version", "description"] as const) {
    if (raw[key] !== undefined && typeof raw[key] !== "string") throw fail(`"${key}" is not a string`);
  }
  if (raw.strictCategories !== undefined && typeof raw.strictCategories !== "boolean") {
    throw fail(`"strictCategories" is not true or false`);
  }
  for (const section of ["inputs", "outputs"] as const) {
    const entries = raw[section];
    if (entries === undefined) continue;
    if (!isObject(entries)) throw fail(`"${section}" is not an object`);
    for (const [name, entry] of Object.entries(entries)) {
      if (!isObject(entry)) throw fail(`"${section}.${name}" is not an object`);
      checkKeys(entry, KEYS[section], `${section}.${name}.`, fail);
      for (const list of ["aliases", "labels", "columns"]) {
        const v = entry[list];
        if (v !== undefined && !(Array.isArray(v) && v.every((s) => typeof s === "string"))) {
          throw fail(`"${section}.${name}.${list}" is not a list of strings`);
        }
      }
      if (entry.required !== undefined && typeof entry.required !== "boolean") {
        throw fail(`"${section}.${name}.required" is not true or false`);
      }
      if (entry.rename !== undefined && typeof entry.rename !== "string") {
        throw fail(`"${section}.${name}.rename" is not a string`);
      }
    }
  }
  return raw as Manifest;
}

/** The keys a manifest may have, at the top and in each input or output entry. */
const KEYS = {
  top: ["name", "version", "description", "inputs", "outputs", "strictCategories"],
  inputs: ["aliases", "required", "columns"],
  outputs: ["rename", "labels"],
};

function checkKeys(
  object: Record<string, unknown>,
  known: string[],
  prefix: string,
  fail: (what: string) => ModelError,
) {
  const unknown = Object.keys(object).find((k) => !known.includes(k));
  if (unknown !== undefined) {
    throw fail(`unknown key "${prefix}${unknown}" (known keys here: ${known.map((k) => `"${k}"`).join(", ")})`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
