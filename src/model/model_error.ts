import { ScoreError } from "../errors.ts";

/**
 * The model module's own failure, one of the errors module's: a code, an
 * HTTP status and an exit code, for each way a model fails.
 *
 * @example
 * ```ts
 * throw ModelError.notFound(`Model not found: "models/nope" does not exist`);
 * ```
 */
export class ModelError extends ScoreError {
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
