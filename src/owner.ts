/**
 * The temporary files and folders a process leaves carry its name
 * (`<host>.<pid>`): a run killed with -9 cannot remove its own, so a later
 * run of the same host removes those whose process is gone, and says so
 * (and says so too when it cannot, then goes on: it is housekeeping).
 */
import { join } from "node:path";
import { log } from "./log.ts";

/**
 * This process as the temporary files and folders it leaves carry it:
 * `<host>.<pid>`.
 *
 * @example
 * ```ts
 * `.predictions.csv.${OWNER}-1a2b3c4d.tmp`; // ".predictions.csv.myhost.4242-1a2b3c4d.tmp"
 * ```
 */
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
  await bestEffort(dir, async () => {
    for await (const { path: file, pid } of staleEntries(dir, `.${name}.`, /^(\d+)-[0-9a-f]{8}\.tmp$/, "file")) {
      const bytes = await Deno.stat(file).then((s) => s.size, () => 0);
      if (await removed(file, false)) {
        log.info("removed the temporary file of an earlier run that did not finish", { file, bytes, pid });
      }
    }
  });
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
  await bestEffort(dir, async () => {
    for await (const { path: folder, pid } of staleEntries(dir, prefix, /^(\d+)-/, "folder")) {
      if (await removed(folder, true)) {
        log.info("removed the temporary folder of an earlier run that did not finish", { folder, pid });
      }
    }
  });
}

/** A sweep is housekeeping: one that fails (a folder not ours to read or empty) is said, and the run goes on. */
async function bestEffort(dir: string, sweep: () => Promise<void>): Promise<void> {
  try {
    await sweep();
  } catch (err) {
    log.warn("could not remove the temporary files of earlier runs", { dir, reason: (err as Error).message });
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
