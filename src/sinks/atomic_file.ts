/**
 * A file written under a temporary name beside its final one and renamed
 * at the end, so a crash never leaves a half file under the output name.
 * The temporary name carries its owner (host and process id, see
 * `owner.ts`): a job killed with -9 cannot remove its own, so the next job
 * writing the same output removes those whose owner is gone.
 */
import { basename, dirname, join } from "node:path";
import { NotFoundError, UsageError } from "../errors.ts";
import { OWNER, sweepStale } from "../owner.ts";

/** An open temporary file and the two ways to finish it. */
export interface AtomicFile {
  file: Deno.FsFile;
  /** The temporary file's path, for a writer that writes it by name (it must keep the same file: no replace). */
  path: string;
  /** Flushes, closes and renames to the final name. */
  commit(): Promise<void>;
  /** Closes and deletes the temporary file. */
  abort(): Promise<void>;
}

/**
 * Creates `.<name>.<random>.tmp` beside `path`; fails clearly when the
 * folder is missing.
 *
 * @example
 * ```ts
 * const out = await createAtomicFile("predictions.csv");
 * await out.file.write(new TextEncoder().encode("a,b\n"));
 * await out.commit();
 * ```
 */
export async function createAtomicFile(path: string): Promise<AtomicFile> {
  const dir = dirname(path);
  try {
    const stat = await Deno.stat(dir);
    if (!stat.isDirectory) throw new UsageError(`Output folder "${dir}" is not a folder`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new NotFoundError(`Output folder does not exist: "${dir}"`);
    throw err;
  }
  await sweepStale(dir, basename(path));
  const tmp = join(dir, `.${basename(path)}.${OWNER}-${crypto.randomUUID().slice(0, 8)}.tmp`);
  const file = await Deno.open(tmp, { write: true, createNew: true });
  let open = true;
  const close = () => {
    if (open) file.close();
    open = false;
  };
  return {
    file,
    path: tmp,
    async commit() {
      await file.syncData();
      close();
      await Deno.rename(tmp, path);
    },
    async abort() {
      close();
      await Deno.remove(tmp).catch(() => {});
    },
  };
}
