/**
 * Class labels of a classifier without a ZipMap: an `ai.onnx.ml`
 * classifier node (LinearClassifier, SVMClassifier, TreeEnsembleClassifier)
 * holds its labels (`classlabels_strings`, or `classlabels_ints` /
 * `classlabels_int64s`), and its second output is one probability (or
 * score) per label. {@linkcode classLabels} names the graph outputs that are
 * provably that output: the node's own, or reached from it only through
 * ops that keep one value per class (Identity, Cast, Normalizer, Softmax).
 * The caller still checks that a row has as many values as there are labels.
 */
import { attributeList, type ModelProto, type NodeProto } from "./onnx_reader.ts";

/** The class labels of one graph output. */
export interface ClassLabels {
  /** Labels in column order, as text (int64 labels in decimal). */
  labels: string[];
  /** The op the labels were read from, e.g. `LinearClassifier`. */
  from: string;
}

const CLASSIFIERS = new Set(["LinearClassifier", "SVMClassifier", "TreeEnsembleClassifier"]);
/** Ops whose output has one value per class when their input has: the value stays the class's probability. */
const PER_CLASS = new Set(["Identity", "Cast", "Normalizer", "Softmax", "ZipMap"]);

/**
 * The graph outputs fed by a classifier's probabilities, with its labels.
 *
 * @example
 * ```ts
 * classLabels(decodeModel(bytes)); // Map { "probabilities" => { labels: ["0", "1"], from: "TreeEnsembleClassifier" } }
 * ```
 */
export function classLabels(model: ModelProto): Map<string, ClassLabels> {
  const found = new Map<string, ClassLabels>();
  const nodes = model.graph?.node ?? [];
  const outputs = new Set((model.graph?.output ?? []).map((o) => o.name ?? ""));
  const consumers = new Map<string, NodeProto[]>();
  for (const n of nodes) for (const i of n.input ?? []) consumers.set(i, [...consumers.get(i) ?? [], n]);
  for (const node of nodes) {
    if (node.domain !== "ai.onnx.ml" || !CLASSIFIERS.has(node.opType ?? "")) continue;
    const probabilities = node.output?.[1];
    const labels = labelsOf(node);
    if (!probabilities || labels === undefined || pairwiseScores(node)) continue;
    const seen = new Set<string>();
    const frontier = [probabilities];
    while (frontier.length > 0) {
      const value = frontier.pop()!;
      if (seen.has(value)) continue;
      seen.add(value);
      if (outputs.has(value)) found.set(value, { labels, from: node.opType! });
      for (const next of consumers.get(value) ?? []) {
        if (PER_CLASS.has(next.opType ?? "") && next.input?.length === 1 && next.output?.length === 1) {
          frontier.push(next.output[0]);
        }
      }
    }
  }
  return found;
}

/**
 * Whether the node's scores are one per pair of classes, not one per class: an SVMClassifier with support vectors
 * and without probabilities (`prob_a`) answers its one-vs-one decision values, which for 3 classes are 3 values
 * too.
 */
function pairwiseScores(node: NodeProto): boolean {
  if (node.opType !== "SVMClassifier") return false;
  const supportVectors = (attributeList(node, "vectors_per_class") ?? []).length > 0;
  return supportVectors && (node.attribute?.find((a) => a.name === "prob_a")?.floats ?? []).length === 0;
}

/** A classifier's labels, or undefined when it has none or they repeat (columns named by them would clash). */
function labelsOf(node: NodeProto): string[] | undefined {
  for (const name of ["classlabels_strings", "classlabels_ints", "classlabels_int64s"]) {
    const labels = attributeList(node, name);
    if (labels !== undefined && labels.length > 0) return new Set(labels).size === labels.length ? labels : undefined;
  }
  return undefined;
}
