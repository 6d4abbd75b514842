/**
 * Refuses two flags that name one file, so an output never overwrites an
 * input or another output. Paths are compared as the kernel sees them:
 * symbolic links and `.`/`..` resolved, and an existing file by device and
 * inode (a hard link is the same file under another name).
 *
 * @example
 * ```ts
 * checkDistinctFiles([{ flag: "--input", path: "rides.csv" }, { flag: "--output", path: "./rides.csv" }]);
 * // throws UsageError: --input and --output name the same file ...
 * ```
 */
import { basename, dirname, join, resolve } from "node:path";
import { UsageError } from "../errors.ts";

/** A flag naming a file (not `-`, not a URL), as given. */
export interface FileFlag {
  flag: string;
  path: string;
}

/**
 * Throws a {@linkcode UsageError} (exit 64) naming both flags and the file
 * when two of `files` are one file. Reads only metadata: nothing is opened.
 * Devices and pipes (`/dev/null`, `/dev/stdout`) are not files here: two
 * flags may share one.
 */
export function checkDistinctFiles(files: FileFlag[]): void {
  const seen = new Map<string, FileFlag>();
  for (const file of files) {
    const id = fileIdentity(file.path);
    if (id === undefined) continue;
    const first = seen.get(id.key);
    if (first) {
      const as = first.path === file.path ? `"${file.path}"` : `"${first.path}" and "${file.path}"`;
      throw new UsageError(
        `${first.flag} and ${file.flag} name the same file (${as}, that is ${id.real}): ` +
          `${file.flag} would overwrite it; give each its own file`,
      );
    }
    seen.set(id.key, file);
  }
}

/** What tells a file apart (its device and inode, or where it would be created), and its resolved path. */
function fileIdentity(path: string): { key: string; real: string } | undefined {
  // The path as given, not normalized first: the kernel resolves `link/..` through the link.
  let stat: Deno.FileInfo | undefined;
  try {
    stat = Deno.statSync(path);
  } catch {
    // Missing (to be created), a dangling link, or unreadable: told apart by where it would be.
  }
  if (stat && !stat.isFile) return undefined;
  const real = stat ? realPath(path) : whereCreated(path);
  if (stat?.dev !== undefined && stat.ino !== null) return { key: `inode:${stat.dev}:${stat.ino}`, real };
  return { key: `path:${real}`, real };
}

/** The path with its links resolved, or as given (absolute) when it cannot be. */
function realPath(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    return resolve(path);
  }
}

/** Where a file not yet there would be created: its nearest existing folder resolved, the rest appended. */
function whereCreated(path: string): string {
  const parent = dirname(path);
  if (parent === path) return resolve(path);
  try {
    return join(Deno.realPathSync(parent), basename(path));
  } catch {
    return join(whereCreated(parent), basename(path));
  }
}
