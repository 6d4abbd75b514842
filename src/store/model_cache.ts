/**
 * The local copies of remote models. Each model URI has a folder (named by
 * a hash of the URI) holding one subfolder per content (named by a hash of
 * its files' ETags or digests), beside each subfolder its record
 * (`<tag>.json`: every file's length and sha256, as downloaded), and
 * `good.json`, the copies that last loaded, newest first: what serves when
 * the store cannot be reached.
 *
 * A copy is written under a temporary name, checked, renamed, then its
 * record is written (atomically): a crash or a failed download never leaves
 * a half model under a content's name, and a folder without its record is
 * never trusted. A copy is used only after its files match their record:
 * the lengths on every look, the sha256 too unless the caller will not load
 * it. A copy that does not match is removed.
 */
import { createHash } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { UsageError } from "../errors.ts";
import { log } from "../log.ts";

/** One file of a copy, as it was downloaded. */
export interface CopyFile {
  name: string;
  bytes: number;
  sha256: string;
}

/** A copy in the cache whose files matched their record. */
export interface CachedCopy {
  tag: string;
  dir: string;
  files: CopyFile[];
}

/** A copy that last loaded, and when it was fetched. */
export interface GoodCopy extends CachedCopy {
  /** When it was resolved from the store (ISO 8601). */
  resolvedAt: string;
}

/** How hard to look at a copy: `"full"` hashes every file, `"length"` compares lengths only. */
export type CheckDepth = "full" | "length";

interface GoodEntry {
  tag: string;
  resolvedAt: string;
}

/** Good copies listed per URI (the store down, the newest that still matches its record serves). */
const KEEP_GOOD = 3;
/** Copies kept per URI besides the good ones (a process started a moment ago may still be loading one). */
const KEEP = 2;
/** A temporary folder older than this is a crashed download's (a live one is bounded by --model-timeout). */
const STALE_DOWNLOAD_MS = 24 * 3_600_000;

/**
 * The cache under `root`.
 *
 * @example
 * ```ts
 * const cache = new ModelCache(defaultCacheDir());
 * const copy = await cache.fill("s3://mlflow/1/abc/artifacts/model", async (tmp) => await fetchInto(tmp));
 * ```
 */
export class ModelCache {
  constructor(readonly root: string) {}

  /**
   * The copy of a content, when it is in the cache and its files match
   * their record; a copy that does not match is removed (and logged).
   */
  async find(uri: string, tag: string, depth: CheckDepth): Promise<CachedCopy | undefined> {
    const slot = this.#slot(uri);
    const dir = join(slot, tag);
    if (!(await isDir(dir))) return undefined;
    const files = await readRecord(join(slot, `${tag}.json`));
    const problem = files === undefined ? "it has no record of its files" : await check(dir, files, depth);
    if (problem === undefined) return { tag, dir, files: files! };
    log.warn("cached model copy damaged: removed", { model_uri: uri, copy: dir, reason: problem });
    await this.#discard(slot, tag);
    return undefined;
  }

  /**
   * The files that copies of `uri` hold besides `listed` (the data files a
   * graph names, which a listing of one file does not give): one list per
   * copy that holds every listed file and more.
   */
  async extras(uri: string, listed: readonly string[]): Promise<string[][]> {
    const slot = this.#slot(uri);
    const found = new Map<string, string[]>();
    const entries = await Array.fromAsync(Deno.readDir(slot)).catch(() => []);
    for (const e of entries) {
      if (!e.isFile || !e.name.endsWith(".json") || e.name === "good.json" || e.name.startsWith(".")) continue;
      const names = (await readRecord(join(slot, e.name)))?.map((f) => f.name) ?? [];
      if (!listed.every((n) => names.includes(n))) continue;
      const extra = names.filter((n) => !listed.includes(n)).sort();
      if (extra.length > 0) found.set(extra.join("\0"), extra);
    }
    return [...found.values()];
  }

  /**
   * Writes a copy: `fill` gets a fresh temporary folder, writes and checks
   * the files and returns their tag and record; the record is written, then
   * the folder renamed to the tag beside it. Whatever fails, the temporary
   * folder is removed.
   */
  async fill(uri: string, fill: (tmp: string) => Promise<{ tag: string; files: CopyFile[] }>): Promise<CachedCopy> {
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
      const { tag, files } = await fill(tmp);
      const dir = join(slot, tag);
      const record = join(slot, `${tag}.json`);
      // The record first: a copy is never in place without one, which another process (another worker, a replica
      // sharing the cache) finding it meanwhile would take for a damaged copy and remove.
      await writeAtomically(record, { tag, files });
      try {
        await Deno.rename(tmp, dir);
      } catch (err) {
        if (!(await isDir(dir))) throw err;
        // Another process put the same content there first: theirs serves if it matches what we just fetched.
        if (await check(dir, files, "full") === undefined) {
          await Deno.remove(tmp, { recursive: true });
        } else {
          await this.#discard(slot, tag);
          await writeAtomically(record, { tag, files });
          await Deno.rename(tmp, dir);
        }
      }
      return { tag, dir, files };
    } catch (err) {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      throw err;
    }
  }

  /**
   * Records `tag` as the newest good copy of `uri` (it loaded), and drops
   * old copies.
   */
  async remember(uri: string, tag: string): Promise<void> {
    const slot = this.#slot(uri);
    const good = [{ tag, resolvedAt: new Date().toISOString() }, ...(await readGood(slot)).filter((g) => g.tag !== tag)]
      .slice(0, KEEP_GOOD);
    await writeAtomically(join(slot, "good.json"), good);
    await this.#prune(slot, new Set(good.map((g) => g.tag)));
  }

  /**
   * The newest good copy of `uri` whose files match their record and that
   * `accept` takes; those that do not match are removed on the way.
   */
  async lastGood(
    uri: string,
    depth: (tag: string) => CheckDepth,
    accept: (copy: CachedCopy) => boolean = () => true,
  ): Promise<GoodCopy | undefined> {
    for (const entry of await readGood(this.#slot(uri))) {
      const copy = await this.find(uri, entry.tag, depth(entry.tag));
      if (copy !== undefined && accept(copy)) return { ...copy, resolvedAt: entry.resolvedAt };
    }
    return undefined;
  }

  #slot(uri: string): string {
    return join(this.root, createHash("sha256").update(uri).digest("hex").slice(0, 32));
  }

  /** Removes a copy: its record first, so that a crash halfway leaves a folder never trusted. */
  async #discard(slot: string, tag: string): Promise<void> {
    await Deno.remove(join(slot, `${tag}.json`)).catch(() => {});
    const trash = join(slot, `.trash-${crypto.randomUUID()}`);
    // Renamed away first: the content's name is free at once, even if the removal is slow.
    await Deno.rename(join(slot, tag), trash).catch(() => {});
    await Deno.remove(trash, { recursive: true }).catch(() => {});
  }

  async #prune(slot: string, good: Set<string>): Promise<void> {
    const copies: { name: string; mtime: number }[] = [];
    const now = Date.now();
    for await (const e of Deno.readDir(slot)) {
      const stat = await Deno.stat(join(slot, e.name)).catch(() => undefined);
      if (stat === undefined) continue;
      const mtime = stat.mtime?.getTime() ?? 0;
      if (e.name.startsWith(".")) {
        // A crashed download's folder, a removal or a record write cut short.
        if (now - mtime > STALE_DOWNLOAD_MS) await Deno.remove(join(slot, e.name), { recursive: true }).catch(() => {});
      } else if (e.isDirectory && !good.has(e.name)) {
        copies.push({ name: e.name, mtime });
      } else if (e.isFile && e.name.endsWith(".json") && e.name !== "good.json") {
        const tag = e.name.slice(0, -".json".length);
        if (!(await isDir(join(slot, tag)))) await Deno.remove(join(slot, e.name)).catch(() => {});
      }
    }
    copies.sort((a, b) => b.mtime - a.mtime);
    for (const old of copies.slice(KEEP)) await this.#discard(slot, old.name);
  }
}

/**
 * Why the files in `dir` do not match `files`, or undefined when they do:
 * a missing file or another length; with `"full"`, another sha256.
 */
async function check(dir: string, files: CopyFile[], depth: CheckDepth): Promise<string | undefined> {
  for (const f of files) {
    const path = join(dir, f.name);
    let size: number;
    try {
      size = (await Deno.stat(path)).size;
    } catch {
      return `${f.name} is missing`;
    }
    if (size !== f.bytes) return `${f.name} is ${size} bytes, ${f.bytes} were downloaded`;
    if (depth === "full") {
      const sha256 = await sha256Of(path);
      if (sha256 !== f.sha256) return `${f.name} has sha256 ${sha256}, ${f.sha256} was downloaded`;
    }
  }
  return undefined;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash("sha256");
  const file = await Deno.open(path);
  try {
    const buffer = new Uint8Array(1 << 20);
    for (let n = await file.read(buffer); n !== null; n = await file.read(buffer)) hash.update(buffer.subarray(0, n));
  } finally {
    file.close();
  }
  return hash.digest("hex");
}

async function readRecord(path: string): Promise<CopyFile[] | undefined> {
  try {
    const { files } = JSON.parse(await Deno.readTextFile(path));
    const valid = Array.isArray(files) && files.length > 0 &&
      files.every((f) =>
        typeof f?.name === "string" && inside(f.name) && Number.isInteger(f.bytes) &&
        typeof f.sha256 === "string"
      );
    return valid ? files : undefined;
  } catch {
    return undefined;
  }
}

/** A relative path that stays in its folder: no empty, `.` or `..` part, not absolute. */
function inside(name: string): boolean {
  return name.split("/").every((part) => part !== "" && part !== "." && part !== "..");
}

async function readGood(slot: string): Promise<GoodEntry[]> {
  try {
    const good = JSON.parse(await Deno.readTextFile(join(slot, "good.json")));
    return Array.isArray(good)
      ? good.filter((g) => typeof g?.tag === "string" && /^[0-9a-f]+$/.test(g.tag) && typeof g.resolvedAt === "string")
      : [];
  } catch {
    return [];
  }
}

async function writeAtomically(path: string, value: unknown): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${crypto.randomUUID()}.tmp`);
  try {
    await Deno.writeTextFile(tmp, JSON.stringify(value, null, 2) + "\n");
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}
