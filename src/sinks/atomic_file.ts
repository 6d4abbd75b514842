/**
 * A file written under a temporary name beside its final one and renamed
 * at the end, so a crash never leaves a half file under the output name.
 * The temporary name carries its owner (host and process id): a job
 * killed with -9 cannot remove its own, so the next job writing the same
 * output removes those whose owner is gone. DuckDB's staging folders carry
 * their owner the same way and are swept the same way
 * (`sweepStaleFolders`).
 */
import { basename, dirname, join } from "node:path";
import { NotFoundError, UsageError } from "../errors.ts";
import { log } from "../log.ts";

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

/** This process, as temporary names carry it: `<host>.<pid>`. */
export const OWNER = `${Deno.hostname().replace(/[^A-Za-z0-9-]/g, "_")}.${Deno.pid}`;

/**
 * Removes `.<name>.<host>.<pid>-<random>.tmp` files in `dir` left by
 * processes of this host that are gone (no /proc/<pid>), and says so.
 * Files of other hosts, of live processes, or where liveness cannot be
 * told (no /proc) are left alone.
 *
 * @example
 * ```ts
 * await sweepStale("out", "predictions.parquet");
 * ```
 */
export async function sweepStale(dir: string, name: string): Promise<void> {
  for await (const { path: file, pid } of staleEntries(dir, `.${name}.`, /^(\d+)-[0-9a-f]{8}\.tmp$/, "file")) {
    const bytes = await Deno.stat(file).then((s) => s.size, () => 0);
    if (await removed(file, false)) {
      log.info("removed the temporary file of an earlier run that did not finish", { file, bytes, pid });
    }
  }
}

/**
 * Removes the folders `<prefix><host>.<pid>-<anything>` in `dir` left by
 * processes of this host that are gone, and says so; the same rules as
 * `sweepStale`.
 *
 * @example
 * ```ts
 * await sweepStaleFolders("/tmp", "score-staging-");
 * ```
 */
export async function sweepStaleFolders(dir: string, prefix: string): Promise<void> {
  for await (const { path: folder, pid } of staleEntries(dir, prefix, /^(\d+)-/, "folder")) {
    if (await removed(folder, true)) {
      log.info("removed the temporary folder of an earlier run that did not finish", { folder, pid });
    }
  }
}

/** The entries of `dir` named `<prefix><host>.<rest>`, `pid` the first group of `rest`'s match, whose pid is gone. */
async function* staleEntries(
  dir: string,
  prefix: string,
  rest: RegExp,
  kind: "file" | "folder",
): AsyncGenerator<{ path: string; pid: number }> {
  if (!isDir("/proc/self")) return;
  const owned = `${prefix}${OWNER.slice(0, OWNER.lastIndexOf("."))}.`;
  for await (const entry of Deno.readDir(dir)) {
    if (!(kind === "file" ? entry.isFile : entry.isDirectory) || !entry.name.startsWith(owned)) continue;
    const pid = rest.exec(entry.name.slice(owned.length))?.[1];
    if (pid === undefined || Number(pid) === Deno.pid || isDir(`/proc/${pid}`)) continue;
    yield { path: join(dir, entry.name), pid: Number(pid) };
  }
}

/** Removes `path`; false when another process removed it first. */
async function removed(path: string, recursive: boolean): Promise<boolean> {
  try {
    await Deno.remove(path, { recursive });
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

function isDir(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}
