/**
 * The three ways score is started (the ./score launcher, the executable `make build` compiles, the container's
 * `score`) give V8 the same flags: a flag measured in one must hold in all.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "./helpers.ts";

Deno.test("launchers give V8 the same flags", async (t) => {
  const launchers = ["score", "Makefile", "Dockerfile"];
  const flags = await Promise.all(launchers.map(async (file) => {
    const text = await Deno.readTextFile(join(ROOT, file));
    return [...text.matchAll(/--v8-flags=(\S+)/g)].map((m) => m[1]);
  }));
  await t.step("each launcher sets them once", () => {
    assert.deepEqual(flags.map((f) => f.length), launchers.map(() => 1), launchers.join(", "));
  });
  await t.step("to the same value", () => {
    assert.deepEqual(flags.map((f) => f[0]), launchers.map(() => "--max-semi-space-size=4"));
  });
});

Deno.test("the compiled executable shares a port between workers as ./score does", async () => {
  // ./score and the image read deno.json, whose "unstable" list has "net"; deno compile is told the flag itself.
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  assert.ok(config.unstable.includes("net"));
  const make = await Deno.readTextFile(join(ROOT, "Makefile"));
  assert.match(make, /\$\(DENO\) compile [^\n]*--unstable-net/);
});
