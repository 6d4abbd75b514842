import assert from "node:assert/strict";
import { defaultCacheDir } from "../../src/store/cache_dir.ts";

Deno.test("defaultCacheDir: XDG_CACHE_HOME, else HOME, else the temporary directory", async (t) => {
  const cases: [string, Record<string, string>, string][] = [
    ["XDG_CACHE_HOME first", { XDG_CACHE_HOME: "/c/", HOME: "/home/ana" }, "/c/score"],
    ["then HOME", { HOME: "/home/ana" }, "/home/ana/.cache/score"],
    ["then TMPDIR", { TMPDIR: "/scratch" }, "/scratch/score-cache"],
    ["then /tmp", {}, "/tmp/score-cache"],
  ];
  for (const [name, env, dir] of cases) await t.step(name, () => assert.equal(defaultCacheDir(env), dir));
});
