/**
 * The local copies of remote models. Each model URI has a folder (named by
 * a hash of the URI) holding one subfolder per content (named by a hash of
 * its files' ETags or digests) and `last.json`, the content last resolved:
 * what serves when the store cannot be reached.
 *
 * A copy is written under a temporary name, verified, then renamed: a crash
 * or a failed download never leaves a half model under a content's name.
 */
import { createHash } from "node:crypto";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../errors.ts";

/** The content last resolved for a URI. */
export interface CacheEntry {
  /** The URI, secrets hidden. */
  uri: string;
  tag: string;
  dir: string;
  /** When it was resolved from the store (ISO 8601). */
  resolvedAt: string;
}

/** Copies kept per URI besides the current one (a process started a moment ago may still be loading one). */
const KEEP = 2;

/**
 * The cache under `root`.
 *
 * @example
 * ```ts
 * const cache = new ModelCache(ModelCache.defaultDir());
 * const dir = await cache.fill("s3://mlflow/1/abc/artifacts/model", async (tmp) => tagOf(await fetchInto(tmp)));
 * ```
 */
export class ModelCache {
  constructor(readonly root: string) {}

  /**
   * `$XDG_CACHE_HOME/score`, else `~/.cache/score`, else a folder under the
   * temporary directory.
   */
  static defaultDir(env: Record<string, string | undefined> = Deno.env.toObject()): string {
    if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "score");
    const home = env.HOME || homedir();
    return home ? join(home, ".cache", "score") : join(tmpdir(), "score-cache");
  }

  /** The folder of a content already in the cache, or undefined. */
  async find(uri: string, tag: string): Promise<string | undefined> {
    const dir = join(this.#slot(uri), tag);
    return (await isDir(dir)) ? dir : undefined;
  }

  /**
   * Writes a copy: `fill` gets a fresh temporary folder, writes and verifies
   * the files and returns their tag; the folder is then renamed to the tag.
   * Returns the copy's folder.
   */
  async fill(uri: string, fill: (tmp: string) => Promise<string>): Promise<{ tag: string; dir: string }> {
    const slot = this.#slot(uri);
    let tmp: string;
    try {
      await Deno.mkdir(slot, { recursive: true });
      tmp = await Deno.makeTempDir({ dir: slot, prefix: ".download-" });
    } catch (err) {
      throw new UsageError(
        `Cannot write the model cache ${this.root} (--cache-dir, SCORE_CACHE_DIR): ${(err as Error).message}`,
        { cause: err },
      );
    }
    try {
      const tag = await fill(tmp);
      const dir = join(slot, tag);
      try {
        await Deno.rename(tmp, dir);
      } catch (err) {
        // Another process put the same content there first: theirs is as good.
        if (!(await isDir(dir))) throw err;
        await Deno.remove(tmp, { recursive: true });
      }
      return { tag, dir };
    } catch (err) {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      throw err;
    }
  }

  /** Records `tag` as the content last resolved for `uri`, and drops old copies. */
  async remember(uri: string, tag: string): Promise<void> {
    const slot = this.#slot(uri);
    const entry: CacheEntry = { uri, tag, dir: join(slot, tag), resolvedAt: new Date().toISOString() };
    const tmp = join(slot, `.last-${crypto.randomUUID()}.json`);
    await Deno.writeTextFile(tmp, JSON.stringify(entry, null, 2) + "\n");
    await Deno.rename(tmp, join(slot, "last.json"));
    await this.#prune(slot, tag);
  }

  /** The content last resolved for `uri`, when its copy is still there. */
  async last(uri: string): Promise<CacheEntry | undefined> {
    try {
      const entry = JSON.parse(await Deno.readTextFile(join(this.#slot(uri), "last.json"))) as CacheEntry;
      return (await isDir(entry.dir)) ? entry : undefined;
    } catch {
      return undefined;
    }
  }

  #slot(uri: string): string {
    return join(this.root, createHash("sha256").update(uri).digest("hex").slice(0, 32));
  }

  async #prune(slot: string, current: string): Promise<void> {
    const copies: { name: string; mtime: number }[] = [];
    for await (const e of Deno.readDir(slot)) {
      if (!e.isDirectory || e.name.startsWith(".") || e.name === current) continue;
      const stat = await Deno.stat(join(slot, e.name)).catch(() => undefined);
      if (stat) copies.push({ name: e.name, mtime: stat.mtime?.getTime() ?? 0 });
    }
    copies.sort((a, b) => b.mtime - a.mtime);
    for (const old of copies.slice(KEEP)) {
      await Deno.remove(join(slot, old.name), { recursive: true }).catch(() => {});
    }
  }
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}
