/**
 * `score inspect`'s parts: a model described as `score` reads it, as text,
 * and as a manifest skeleton.
 *
 * @example
 * ```ts
 * import { describeModel, renderText } from "./src/inspect/mod.ts";
 * console.log(renderText(describeModel(model, "http://localhost:9696")));
 * ```
 */
export {
  describeModel,
  type ExampleRequest,
  type InputDescription,
  type ModelDescription,
  type OutputDescription,
} from "./describe_model.ts";
export { manifestBeside } from "./manifest_beside.ts";
export { manifestSkeleton } from "./manifest_skeleton.ts";
export { renderText } from "./render_text.ts";
