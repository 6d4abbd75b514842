/**
 * The model module's own failure. It imports nothing of ours, so instead of
 * subclassing the errors module it carries the same fields (`code`, HTTP
 * `status`, `exitCode`), which `describeError` in `src/errors.ts` reads.
 *
 * @example
 * ```ts
 * throw ModelError.notFound(`Model not found: "models/nope" does not exist`);
 * ```
 */
export class ModelError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
    readonly exitCode: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ModelError";
  }

  /** The model path does not exist. */
  static notFound(message: string, options?: ErrorOptions): ModelError {
    return new ModelError(message, "model_not_found", 404, 66, options);
  }

  /** The model or its manifest cannot be loaded or is of a shape we cannot serve. */
  static badModel(message: string, options?: ErrorOptions): ModelError {
    return new ModelError(message, "bad_model", 500, 78, options);
  }

  /** The data lacks columns the model needs: nothing can be scored. */
  static missingInputs(message: string): ModelError {
    return new ModelError(message, "missing_inputs", 422, 65);
  }

  /**
   * A prediction asks for an output the model does not have. Its code, status and exit are those of missing inputs,
   * as clients already read them: the request names something the model lacks.
   */
  static unknownOutput(message: string): ModelError {
    return new ModelError(message, "missing_inputs", 422, 65);
  }

  /** onnxruntime failed while running the graph. */
  static runFailed(message: string, options?: ErrorOptions): ModelError {
    return new ModelError(message, "model_failed", 500, 70, options);
  }
}
