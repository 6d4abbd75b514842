/**
 * The size of an input file, turning "no such file" into a clear error.
 *
 * @example
 * ```ts
 * const bytes = await fileSize("rides.parquet");
 * ```
 */
import { NotFoundError, UsageError } from "../errors.ts";

/** Standard input, as a path the file readers open (`--input -`). */
export const STDIN = "/dev/stdin";

/** The size of `path` in bytes (0 for a pipe). */
export async function fileSize(path: string): Promise<number> {
  try {
    const stat = await Deno.stat(path);
    if (stat.isDirectory) throw new UsageError(`Input "${path}" is a directory, not a file`);
    return stat.size;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new NotFoundError(`Input file not found: "${path}"`);
    throw err;
  }
}
