/**
 * The HTTP app's Hono environment, which its routes share: the context
 * variables the outer middleware reads back (request id, model and version
 * labels), and the answer to a known route asked with the wrong method.
 */
import type { Context } from "hono";
import { InputError } from "../errors.ts";

/** Context variables set while a request is handled. */
export type AppEnv = { Variables: { requestId: string; model: string; modelVersion: string; errorCode: string } };

/**
 * Registers a 405 naming the methods to use for each path, so a known route
 * asked with the wrong method is not a 404. Call it after the real routes.
 *
 * @example
 * ```ts
 * methodNotAllowed(app, "POST", ["/predict"]);
 * ```
 */
export function methodNotAllowed(
  app: { all(path: string, handler: (c: Context<AppEnv>) => never): unknown },
  methods: string,
  paths: readonly string[],
): void {
  for (const path of paths) {
    app.all(path, (c) => {
      c.header("Allow", methods);
      throw new InputError(`${c.req.method} is not allowed on ${c.req.path}; use ${methods}`, {
        status: 405,
        code: "method_not_allowed",
      });
    });
  }
}
