/**
 * The categories a model knows for its string and int64 inputs, read off
 * the encoders in its graph: OneHotEncoder (`cats_strings`/`cats_int64s`),
 * LabelEncoder (`keys_strings`/`keys_int64s`, or opset 1's
 * `classes_strings`) and CategoryMapper (`cats_strings`/`cats_int64s`).
 *
 * An input is followed, column by column, through ops that keep its values:
 * Identity, Cast, Reshape/Flatten/Squeeze/Unsqueeze of a single column,
 * ArrayFeatureExtractor/Gather of constant columns, and Concat along the
 * columns (skl2onnx's ColumnTransformer and OneHotEncoder exports do all of
 * these). Anything else ends the trace: a column is given categories only
 * when an encoder provably reads it, and only categories of the input's own
 * type (a string input cast to int64 keeps none).
 */
import {
  attributeList,
  elemType,
  INT64,
  intValues,
  type ModelProto,
  type NodeProto,
  STRING,
  tensorDims,
  type TensorProto,
} from "./onnx_reader.ts";

/** One column of a graph input, as a traced value holds it (null: a column not from an input). */
type ColumnRef = { input: string; column: number } | null;

interface Traced {
  columns: ColumnRef[];
  /** The tensor's rank when known (a Concat along axis -1 needs it). */
  rank: number | undefined;
  /** The element type now (a TensorProto.DataType), after any Cast. */
  type: number | undefined;
}

/**
 * The known categories of each string or int64 graph input, one entry per
 * column (null for a column no encoder reads), as text; inputs without any
 * are left out.
 *
 * @example
 * ```ts
 * knownCategories(decodeModel(bytes)); // Map { "brand" => [["Audi", "BMW", "Ford", ...]] }
 * ```
 */
export function knownCategories(model: ModelProto): Map<string, (string[] | null)[]> {
  const graph = model.graph;
  const constants = new Map<string, TensorProto>();
  for (const t of graph?.initializer ?? []) if (t.name) constants.set(t.name, t);
  const inputTypes = new Map<string, number>();
  const traced = new Map<string, Traced>();
  for (const input of graph?.input ?? []) {
    const name = input.name ?? "";
    const type = elemType(input);
    const dims = tensorDims(input);
    if (constants.has(name) || (type !== STRING && type !== INT64) || dims === undefined) continue;
    const width = dims.length === 1 ? 1 : dims.length === 2 ? dims[1] : undefined;
    if (width === undefined) continue;
    inputTypes.set(name, type);
    traced.set(name, {
      columns: Array.from({ length: width }, (_, column) => ({ input: name, column })),
      rank: dims.length,
      type,
    });
  }
  const known = new Map<string, Set<string>[]>();
  if (traced.size === 0) return new Map();
  for (const node of graph?.node ?? []) {
    if (node.opType === "Constant" && node.output?.length === 1) {
      const value = node.attribute?.find((a) => a.name === "value")?.t;
      if (value) constants.set(node.output[0], value);
      continue;
    }
    const from = traced.get(node.input?.[0] ?? "");
    if (from === undefined) continue;
    if (node.domain === "ai.onnx.ml") {
      const cats = categoriesOf(node, from.type);
      if (cats !== undefined) {
        for (const ref of from.columns) {
          if (ref === null || cats.type !== inputTypes.get(ref.input)) continue;
          const perColumn = known.get(ref.input) ?? [];
          known.set(ref.input, perColumn);
          const set = perColumn[ref.column] ??= new Set();
          for (const c of cats.values) set.add(c);
        }
        continue;
      }
    }
    const next = follow(node, from, traced, constants);
    if (next !== undefined && node.output?.[0]) traced.set(node.output[0], next);
  }
  const out = new Map<string, (string[] | null)[]>();
  for (const [input, perColumn] of known) {
    const width = traced.get(input)!.columns.length;
    out.set(input, Array.from({ length: width }, (_, c) => perColumn[c] ? [...perColumn[c]] : null));
  }
  return out;
}

/** What an encoder node takes as known values, and of which type; undefined for any other node. */
function categoriesOf(node: NodeProto, type: number | undefined): { values: string[]; type: number } | undefined {
  const strings = (name: string) => nonEmpty(attributeList(node, name));
  switch (node.opType) {
    case "OneHotEncoder": {
      const s = strings("cats_strings");
      if (s) return { values: s, type: STRING };
      const i = strings("cats_int64s");
      return i ? { values: i, type: INT64 } : undefined;
    }
    case "LabelEncoder": {
      const s = strings("keys_strings");
      if (s) return { values: s, type: STRING };
      const i = strings("keys_int64s");
      if (i) return { values: i, type: INT64 };
      // Opset 1 maps strings to their index in classes_strings (and int64s the other way round).
      const classes = type === STRING ? strings("classes_strings") : undefined;
      return classes ? { values: classes, type: STRING } : undefined;
    }
    case "CategoryMapper": {
      // Maps strings to int64s and back: the keys are the list of the input's type.
      if (type === STRING) {
        const s = strings("cats_strings");
        return s ? { values: s, type: STRING } : undefined;
      }
      const i = type === INT64 ? strings("cats_int64s") : undefined;
      return i ? { values: i, type: INT64 } : undefined;
    }
  }
  return undefined;
}

/** The columns a node's first output holds when its first input is traced, or undefined when it ends the trace. */
function follow(
  node: NodeProto,
  from: Traced,
  traced: ReadonlyMap<string, Traced>,
  constants: ReadonlyMap<string, TensorProto>,
): Traced | undefined {
  const inputs = node.input ?? [];
  switch (node.opType) {
    case "Identity":
      return from;
    case "Cast": {
      const to = node.attribute?.find((a) => a.name === "to")?.i;
      return { ...from, type: to == null ? undefined : Number(to) };
    }
    case "Reshape":
    case "Flatten":
    case "Squeeze":
    case "Unsqueeze":
      // One column stays one column whatever the shape; several would be rearranged.
      return from.columns.length === 1 ? { ...from, rank: undefined } : undefined;
    case "ArrayFeatureExtractor":
    case "Gather": {
      if (node.opType === "Gather" && Number(node.attribute?.find((a) => a.name === "axis")?.i ?? 0) !== 1) {
        return undefined;
      }
      const indices = intValues(constants.get(inputs[1] ?? ""))?.map(Number);
      if (indices === undefined || indices.length === 0) return undefined;
      const k = from.columns.length;
      if (indices.some((i) => !Number.isInteger(i) || i < -k || i >= k)) return undefined;
      return { ...from, columns: indices.map((i) => from.columns[i < 0 ? i + k : i]), rank: 2 };
    }
    case "Concat": {
      const axis = Number(node.attribute?.find((a) => a.name === "axis")?.i ?? 0);
      if (axis !== 1 && !(axis === -1 && from.rank === 2)) return undefined;
      const parts = inputs.map((i) => traced.get(i));
      // Every part must be traced (and of rank 2) for the columns after it to be where they seem.
      if (parts.some((p) => p === undefined || p.rank !== 2 || p.type !== from.type)) return undefined;
      return { columns: parts.flatMap((p) => p!.columns), rank: 2, type: from.type };
    }
  }
  return undefined;
}

function nonEmpty(list: string[] | undefined): string[] | undefined {
  return list !== undefined && list.length > 0 ? list : undefined;
}
