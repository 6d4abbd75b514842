/**
 * Where models fetched from S3 or HTTP are kept unless `--cache-dir` says:
 * a file of its own, so that the flag table (all `--help` loads) shows the
 * default without loading the cache's hashing. No `node:` module either
 * (node:os, node:path): one would start Deno's Node compatibility for `--help`.
 */

/**
 * `$XDG_CACHE_HOME/score`, else `$HOME/.cache/score`, else `score-cache` in the temporary directory.
 *
 * @example
 * ```ts
 * defaultCacheDir({ HOME: "/home/ana" }); // "/home/ana/.cache/score"
 * ```
 */
export function defaultCacheDir(env: Record<string, string | undefined> = Deno.env.toObject()): string {
  const under = (dir: string, ...names: string[]) => [dir.replace(/\/+$/, ""), ...names].join("/");
  if (env.XDG_CACHE_HOME) return under(env.XDG_CACHE_HOME, "score");
  if (env.HOME) return under(env.HOME, ".cache", "score");
  return under(env.TMPDIR || "/tmp", "score-cache");
}
