/**
 * Two flags naming one file are refused however the names differ (links,
 * `.` and `..`, hard links); different files, devices and files yet to be
 * created in different places pass.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkDistinctFiles, type FileFlag } from "../../src/cli/check_distinct_files.ts";
import { UsageError } from "../../src/errors.ts";
import { tempDir, thrown } from "../helpers.ts";

Deno.test("checkDistinctFiles refuses two flags naming one file", async (t) => {
  await using dir = await tempDir();
  const d = dir.path;
  await Deno.mkdir(join(d, "a"));
  await Deno.writeTextFile(join(d, "in.csv"), "x\n1\n");
  await Deno.symlink(join(d, "in.csv"), join(d, "link.csv"));
  await Deno.link(join(d, "in.csv"), join(d, "hard.csv"));
  // `up/..` is `d/a/..` to the kernel, i.e. `d`, though `up` sits in `d/a`'s sibling folder lexically.
  await Deno.mkdir(join(d, "b"));
  await Deno.symlink(join(d, "a"), join(d, "b", "up"));
  const real = Deno.realPathSync(d);
  const input = join(real, "in.csv"), created = join(real, "o.csv");
  const cases: [string, [string, string][], string, string][] = [
    ["--input and --output", [["--input", "in.csv"], ["--output", "in.csv"]], "--input and --output", input],
    ["--input and --rejects", [["--input", "in.csv"], ["--rejects", "in.csv"]], "--input and --rejects", input],
    [
      "--output and --rejects, to be created",
      [["--output", "o.csv"], ["--rejects", "o.csv"]],
      "--output and --rejects",
      created,
    ],
    ["a symbolic link", [["--input", "in.csv"], ["--output", "link.csv"]], "--input and --output", input],
    ["./x and x", [["--input", "./in.csv"], ["--output", "in.csv"]], "--input and --output", input],
    ["./x and x, to be created", [["--output", "./o.csv"], ["--rejects", "o.csv"]], "--output and --rejects", created],
    ["a/../x and x", [["--input", "a/../in.csv"], ["--rejects", "in.csv"]], "--input and --rejects", input],
    [
      "a/../x and x, to be created",
      [["--output", "a/../o.csv"], ["--rejects", "o.csv"]],
      "--output and --rejects",
      created,
    ],
    [
      "link/.. as the kernel reads it",
      [["--input", "b/up/../in.csv"], ["--output", "in.csv"]],
      "--input and --output",
      input,
    ],
    [
      "an absolute and a relative name",
      [["--input", join(d, "in.csv")], ["--output", "in.csv"]],
      "--input and --output",
      input,
    ],
    ["a hard link", [["--input", "hard.csv"], ["--output", "in.csv"]], "--input and --output", input],
    [
      "a missing folder's file",
      [["--output", "new/o.csv"], ["--rejects", "new/../new/o.csv"]],
      "--output and --rejects",
      join(real, "new", "o.csv"),
    ],
  ];
  for (const [name, flags, pair, path] of cases) {
    await t.step(name, () => {
      const files: FileFlag[] = flags.map(([flag, path]) => ({ flag, path }));
      const err = inDir(d, () => thrown(() => checkDistinctFiles(files)));
      assert.ok(err instanceof UsageError, String(err));
      assert.equal(err.exitCode, 64);
      assert.ok(err.message.startsWith(`${pair} name the same file`), err.message);
      for (const [, given] of flags) assert.ok(err.message.includes(`"${given}"`), err.message);
      assert.ok(err.message.includes(`that is ${path})`), err.message);
    });
  }
});

Deno.test("checkDistinctFiles lets different files and devices through", async (t) => {
  await using dir = await tempDir();
  const d = dir.path;
  await Deno.writeTextFile(join(d, "in.csv"), "x\n1\n");
  await Deno.copyFile(join(d, "in.csv"), join(d, "copy.csv"));
  await Deno.mkdir(join(d, "a"));
  const cases: [string, [string, string][]][] = [
    ["three files", [["--input", "in.csv"], ["--output", "o.csv"], ["--rejects", "r.csv"]]],
    ["a copy is another file", [["--input", "in.csv"], ["--output", "copy.csv"]]],
    ["one name in two folders", [["--output", "o.csv"], ["--rejects", "a/o.csv"]]],
    ["a device twice", [["--output", "/dev/null"], ["--rejects", "/dev/null"]]],
  ];
  for (const [name, flags] of cases) {
    await t.step(name, () => {
      inDir(d, () => checkDistinctFiles(flags.map(([flag, path]) => ({ flag, path }))));
    });
  }
});

/** Runs `fn` with `dir` as the working folder, relative names being the point of these cases. */
function inDir<T>(dir: string, fn: () => T): T {
  const before = Deno.cwd();
  Deno.chdir(dir);
  try {
    return fn();
  } finally {
    Deno.chdir(before);
  }
}
