/**
 * The inference module: the one place that runs ONNX. Every command
 * (batch, serve, consume) scores through {@linkcode Model.predict}.
 *
 * @example
 * ```ts
 * import { loadModel } from "./src/model/mod.ts";
 * const model = await loadModel("models/ride-duration-linreg");
 * ```
 */
export { loadModel, type LoadOptions } from "./load_model.ts";
export { Model, type Prediction, type PredictOptions, type RowReject } from "./model.ts";
export type { InputSpec, OutputSpec } from "./specs.ts";
export { ModelError } from "./model_error.ts";
export { type InputFeed, sourceColumns } from "./resolve_inputs.ts";
export { type Manifest, parseManifest } from "./manifest.ts";
export { type GraphInput, graphInputs } from "./graph_inputs.ts";
export { externalDataFiles } from "./external_data.ts";
export {
  EXPECTED,
  INTEGER_RANGES,
  type IntegerType,
  isIntegerType,
  isTensorType,
  STORAGE,
  type TensorType,
} from "./tensor_types.ts";
