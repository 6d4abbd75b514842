/**
 * A file written under a temporary name beside its final one and renamed
 * at the end, so a crash never leaves a half file under the output name.
 * The temporary name carries its owner (host and process id, see
 * `owner.ts`): a job killed with -9 cannot remove its own, so the next job
 * writing the same output removes those whose owner is gone.
 */
import { basename, dirname, join } from "node:path";
import { CannotWriteError } from "../errors.ts";
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
 * folder is missing or cannot be written.
 *
 * @example
 * ```ts
 * const out = await createAtomicFile("predictions.csv");
 * await out.file.write(new TextEncoder().encode("a,b\n"));
 * await out.commit();
 * ```
 */
export async function createAtomicFile(path: string): Promise<AtomicFile> {
  const dir = await outputFolder(path);
  await sweepStale(dir, basename(path));
  const { file, tmp } = await createTemporary(path, dir);
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
      await Deno.rename(tmp, path).catch((err) => {
        const why = err instanceof Deno.errors.IsADirectory || (err as { code?: string }).code === "EISDIR"
          ? "it is a folder"
          : reason(err, dir);
        throw new CannotWriteError(`${cannotWrite(path)}: ${why}`, { cause: err });
      });
    },
    async abort() {
      close();
      await Deno.remove(tmp).catch(() => {});
    },
  };
}

/**
 * Fails with a {@linkcode CannotWriteError} naming `flag` and `path` as
 * given when the output could not be written there (its folder missing,
 * not writable or read-only, or `path` a folder), before a job reads a
 * row: it creates and removes the temporary file a job would write.
 *
 * @example
 * ```ts
 * await checkWritable("/tmp/predictions.csv", "--output");
 * ```
 */
export async function checkWritable(path: string, flag?: string): Promise<void> {
  const dir = await outputFolder(path, flag);
  const target = await Deno.stat(path).catch(() => undefined);
  if (target?.isDirectory) throw new CannotWriteError(`${cannotWrite(path, flag)}: it is a folder`);
  const { file, tmp } = await createTemporary(path, dir, flag);
  file.close();
  await Deno.remove(tmp);
}

/** The folder `path` is written in, which must exist and be a folder. */
async function outputFolder(path: string, flag?: string): Promise<string> {
  const dir = dirname(path);
  let stat;
  try {
    stat = await Deno.stat(dir);
  } catch (err) {
    throw new CannotWriteError(`${cannotWrite(path, flag)}: ${reason(err, dir)}`, { cause: err });
  }
  if (!stat.isDirectory) throw new CannotWriteError(`${cannotWrite(path, flag)}: "${dir}" is not a folder`);
  return dir;
}

async function createTemporary(path: string, dir: string, flag?: string): Promise<{ file: Deno.FsFile; tmp: string }> {
  const tmp = join(dir, `.${basename(path)}.${OWNER}-${crypto.randomUUID().slice(0, 8)}.tmp`);
  try {
    return { file: await Deno.open(tmp, { write: true, createNew: true }), tmp };
  } catch (err) {
    // The temporary name is ours, not the user's: the message names the folder instead.
    throw new CannotWriteError(`${cannotWrite(path, flag)}: ${reason(err, dir)}`, { cause: err });
  }
}

function cannotWrite(path: string, flag?: string): string {
  return `Cannot write ${flag ? `${flag} ` : ""}"${path}"`;
}

/** Why a file could not be made in `dir`, in words (an OS message would name our temporary file). */
function reason(err: unknown, dir: string): string {
  const code = (err as { code?: string }).code;
  if (err instanceof Deno.errors.NotFound) return `folder "${dir}" does not exist`;
  if (err instanceof Deno.errors.PermissionDenied || code === "EACCES" || code === "EPERM") {
    return `permission denied in folder "${dir}"`;
  }
  if (code === "EROFS") return `folder "${dir}" is on a read-only file system`;
  if (code === "ENOSPC") return `no space left in folder "${dir}"`;
  if (err instanceof Deno.errors.NotADirectory) return `"${dir}" is not a folder`;
  return `${(err as Error).message ?? err} (in folder "${dir}")`;
}
