/**
 * The version of score: `score --version`, and the server metadata of
 * `score serve` (`GET /v2`, `/openapi.json`).
 *
 * @example
 * ```ts
 * import { VERSION } from "./src/version.ts";
 * ```
 */
export const VERSION = "0.1.0";
