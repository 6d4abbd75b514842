/**
 * `./score` and `scripts/deno` as a user installs them: linked onto PATH
 * (through a chain of links, relative and absolute), run from elsewhere.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { VERSION } from "../../main.ts";
import { ROOT, tempDir } from "../helpers.ts";

Deno.test("the launchers work when symlinked onto PATH", async (t) => {
  await using dir = await tempDir();
  await Deno.mkdir(join(dir.path, "bin", "links"), { recursive: true });
  await Deno.symlink(join(ROOT, "score"), join(dir.path, "bin", "links", "score"));
  await Deno.symlink("links/score", join(dir.path, "bin", "score")); // relative, to another link
  await Deno.symlink(join(ROOT, "scripts", "deno"), join(dir.path, "bin", "deno"));
  const run = async (command: string, args: string[], cwd = dir.path) => {
    const out = await new Deno.Command(command, {
      args,
      cwd,
      env: { PATH: `${join(dir.path, "bin")}:${Deno.env.get("PATH")}` },
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  };
  await t.step("score --version", async () => {
    const r = await run("score", ["--version"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), VERSION);
  });
  await t.step("score batch with a shipped model, from another folder", async () => {
    const r = await run("score", [
      "batch",
      "--model",
      "churn",
      "--input",
      join(ROOT, "data", "telco_customer_churn.csv"),
      "--output",
      "-",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split("\n").length, 7043);
  });
  await t.step("sh score --version in its folder (a launcher path with no slash)", async () => {
    const r = await run("sh", ["score", "--version"], ROOT);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), VERSION);
  });
  await t.step("scripts/deno", async () => {
    const r = await run("deno", ["--version"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^deno 2\./);
  });
});
