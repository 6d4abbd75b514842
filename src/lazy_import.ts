/**
 * Imports one of our modules when first needed, so a command loads only
 * what it uses (`score --help` no native addon, a CSV job no Postgres,
 * AMQP or S3 code).
 *
 * The specifier goes through a parameter on purpose: Deno prepares (reads,
 * resolves, fetches npm packages of) every string-literal `import()` of a
 * module at start-up even when it never runs; a computed one it prepares
 * only when called. Tools that follow the static graph cannot see these
 * modules, so each one is named in the Makefile's `build` (`--include`) and
 * the Dockerfile's `deno install`; tests/lazy_import_test.ts checks both.
 * Call it only as `lazyImport<typeof M>(new URL("./file.ts", import.meta.url))`
 * (with `import type * as M from "./file.ts"` for the types): that test
 * finds the modules by this shape.
 *
 * @example
 * ```ts
 * import type * as Store from "./store/mod.ts";
 * const { openModel } = await lazyImport<typeof Store>(new URL("./store/mod.ts", import.meta.url));
 * ```
 */
export function lazyImport<T>(url: URL): Promise<T> {
  return import(url.href);
}
