/**
 * What a model takes and gives, as the rest of the folder reads it: each
 * ONNX input with the columns that feed it, each output with the columns it
 * becomes. Apart from model.ts so the helpers that read them import no model.
 */
import type { TensorType } from "./tensor_types.ts";

/**
 * One ONNX input and the columns that feed it.
 *
 * @example
 * ```ts
 * // skl2onnx's FloatTensorType([None, 4]) with a manifest naming its columns:
 * // { name: "float_input", type: "float32", shape: ["", 4], vector: true, fixedBatch: null,
 * //   columns: ["sepal_length", "sepal_width", "petal_length", "petal_width"], aliases: [], required: false }
 * ```
 */
export interface InputSpec {
  name: string;
  type: TensorType;
  /** As onnxruntime reports it: a number, or a name / "" for a dynamic dimension. */
  shape: ReadonlyArray<number | string>;
  /**
   * The columns a row gives, one per value: `[name]` for an `[N]` or `[N,1]` input (or the manifest's one
   * column); for an `[N,K]` input its K columns, `<name>_0`… `<name>_{K-1}` unless the manifest's `columns`
   * name them.
   */
  columns: string[];
  /**
   * True for an `[N,K]` input (K > 1, or dynamic): besides its K columns, a JSON row may give its values as
   * one list under the input's name (or an alias), e.g. `{"float_input": [5.1, 3.5, 1.4, 0.2]}`.
   */
  vector: boolean;
  /** Other names tried after `columns`/`name`: for an `[N]` input its column, for an `[N,K]` one its list. */
  aliases: string[];
  /** Whether a null or blank value rejects its row (else a float input takes NaN). */
  required: boolean;
  /** The batch size this input fixes (`[1,K]` gives 1), or null when it takes any number of rows. */
  fixedBatch: number | null;
  /**
   * For a string or int64 input whose values an encoder of the graph reads (OneHotEncoder, LabelEncoder,
   * CategoryMapper): the categories the model knows, per column (as text; int64 in decimal), null for a column no
   * encoder reads. Absent for other inputs.
   */
  categories?: ReadonlyArray<readonly string[] | null>;
}

/**
 * One tensor output and the columns it becomes.
 *
 * @example
 * ```ts
 * // a ZipMap classifier's probabilities, rewritten to a tensor at load:
 * // { name: "output_probability", type: "float32", shape: ["N", 3], key: "output_probability",
 * //   columns: ["output_probability_setosa", "output_probability_versicolor", "output_probability_virginica"],
 * //   labels: ["setosa", "versicolor", "virginica"] }
 * ```
 */
export interface OutputSpec {
  name: string;
  type: TensorType;
  /**
   * The batch dimension as declared, then the dimensions of one row as a trial run at load returned them (a
   * file's declared shape may be wrong: `[N]` that returns `[N,2]`).
   */
  shape: ReadonlyArray<number | string>;
  /** The output's name in answers that keep it whole (JSON): its rename, else its name. */
  key: string;
  /**
   * One column per value of a row: `[key]` for one value; else `<key>_<i>`, `<key>_<label>` for a ZipMap's
   * probabilities, or the manifest's `labels`.
   */
  columns: string[];
  /**
   * A classifier's class labels (as text; int64 labels in decimal), one per column: a ZipMap's, or the
   * classifier node's whose probabilities this output is. JSON answers give such an output as an object
   * `{label: probability}`, as skl2onnx users know it from Python.
   */
  labels?: string[];
  /** Where `labels` were read: `ZipMap`, or the classifier's op (`LinearClassifier`, `TreeEnsembleClassifier`…). */
  labelsFrom?: string;
}
