/**
 * Imports point one way: no module of src/ reaches itself through its
 * imports, so each file can be read (and loaded) after the ones it uses.
 * `import type * as X` is left out: it types a module loaded later by URL
 * (src/lazy_import.ts), which is how a command reaches its heavy half.
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { ROOT } from "./helpers.ts";

const SRC = join(ROOT, "src");

/** Every `.ts` file under `dir`, as absolute paths. */
async function tsFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) files.push(...await tsFiles(path));
    else if (entry.name.endsWith(".ts")) files.push(path);
  }
  return files;
}

/** The relative modules `text` imports or re-exports, but those only typed for a lazy load. */
function importsOf(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+\*\s+as\s+)?[^;]*?\bfrom\s+"(\.[^"]+)"/gms)) {
    if (m[1] === undefined) found.push(m[2]);
  }
  for (const m of text.matchAll(/^import\s+"(\.[^"]+)"/gm)) found.push(m[1]);
  return found;
}

/** The groups of modules (2 or more) that import each other round (Tarjan's strongly connected components). */
function circles(edges: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const group: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      group.push(w);
    } while (w !== v);
    if (group.length > 1) found.push(group.sort());
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

Deno.test("no module of src/ imports itself round a circle", async (t) => {
  const edges = new Map<string, string[]>();
  for (const file of await tsFiles(SRC)) {
    const from = relative(SRC, file);
    const to = importsOf(await Deno.readTextFile(file)).map((s) => relative(SRC, resolve(dirname(file), s)));
    edges.set(from, to);
  }
  await t.step("the import reading finds the imports", () => {
    assert.ok(edges.get("model/model.ts")?.includes("model/specs.ts"));
    assert.ok(edges.get("sources/reader_worker.ts")?.includes("sources/parquet_batches.ts"));
    assert.ok(!edges.get("commands/serve.ts")?.includes("commands/serve_workers.ts"), "a lazy load's type is no edge");
  });
  await t.step("src/model/ imports from itself and the shared files at src/'s top only, no other part", () => {
    const outside = [...edges].filter(([from]) => from.startsWith("model/")).flatMap(([from, to]) =>
      to.filter((t) => !t.startsWith("model/") && t.includes("/")).map((t) => `${from} -> ${t}`)
    );
    assert.deepEqual(outside, []);
  });
  const found = circles(edges);
  const folderOf = (file: string) => file.includes("/") ? `src/${dirname(file)}/` : "src/";
  for (const folder of [...new Set([...edges.keys()].map(folderOf))].sort()) {
    await t.step(folder, () => {
      assert.deepEqual(found.filter((group) => group.some((f) => folderOf(f) === folder)), []);
    });
  }
});
