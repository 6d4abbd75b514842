/**
 * What `score` reads off a model's graph besides what onnxruntime reports:
 * the class labels of classifier outputs and the known categories of
 * string and int64 inputs. Both live in `ai.onnx.ml` nodes, so a model
 * whose bytes never name that domain is not decoded at all.
 */
import { type ClassLabels, classLabels } from "./class_labels.ts";
import { knownCategories } from "./known_categories.ts";
import { holdsText, readModel } from "./onnx_reader.ts";

/** The graph's class labels (by output) and known categories (by input, per column). */
export interface GraphFacts {
  classLabels: Map<string, ClassLabels>;
  categories: Map<string, (string[] | null)[]>;
}

const ML_DOMAIN = "ai.onnx.ml";

/**
 * Reads the class labels and known categories of a `.onnx` file's bytes.
 *
 * @example
 * ```ts
 * const facts = graphFacts(await Deno.readFile("model.onnx"));
 * facts.categories.get("brand"); // [["Audi", "BMW", ...]]
 * ```
 */
export function graphFacts(bytes: Uint8Array): GraphFacts {
  if (!holdsText(bytes, ML_DOMAIN)) {
    return { classLabels: new Map(), categories: new Map() };
  }
  const model = readModel(bytes);
  return { classLabels: classLabels(model), categories: knownCategories(model) };
}
