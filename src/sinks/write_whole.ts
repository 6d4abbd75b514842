/** A whole file written at once, never seen half written. */
import { createAtomicFile } from "./atomic_file.ts";
import { writeAll } from "./write_all.ts";

/**
 * Writes `bytes` to `path` through a temporary file beside it, renamed at the end (see `atomic_file.ts`).
 *
 * @example
 * ```ts
 * await writeWhole("report.html", new TextEncoder().encode("<!doctype html>..."));
 * ```
 */
export async function writeWhole(path: string, bytes: Uint8Array): Promise<void> {
  const out = await createAtomicFile(path);
  try {
    await writeAll(out.file, bytes);
  } catch (err) {
    await out.abort();
    throw err;
  }
  await out.commit();
}
