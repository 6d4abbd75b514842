/**
 * docs/models.md's "Bring your own model" runs as written: every `sh` block is run from a copy of the
 * repository's layout (the shipped models, the course's data, the test fixtures, a `./score`),
 * and the `text` block that follows one is exactly what it prints.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, tempDir } from "../helpers.ts";

const DOC = join(ROOT, "docs", "models.md");

/** Whether Debian's python3-sklearn and python3-onnx are installed (CI installs them), for convert.py. */
const HAVE_SKLEARN = (() => {
  try {
    return new Deno.Command("/usr/bin/python3", {
      args: ["-c", "import sklearn, onnx"],
      stdout: "null",
      stderr: "null",
    })
      .outputSync().success;
  } catch {
    return false;
  }
})();

interface Block {
  lang: string;
  info: string;
  body: string;
  start: number;
  end: number;
}

function blocks(markdown: string): Block[] {
  return [...markdown.matchAll(/^```(\S*)([^\n]*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    lang: m[1],
    info: m[2].trim(),
    body: m[3],
    start: m.index!,
    end: m.index! + m[0].length,
  }));
}

Deno.test("docs/models.md: its commands run and print what the page shows, its scratch model outside models/", async (t) => {
  const whole = await Deno.readTextFile(DOC);
  // this page's own section: the next one (where models live) shows commands for stores a test cannot reach
  const start = whole.indexOf("\n## Bring your own model\n");
  assert.ok(start >= 0);
  const end = whole.indexOf("\n## ", start + 1);
  const markdown = whole.slice(start, end < 0 ? undefined : end);
  const all = blocks(markdown);
  const shell = all.filter((b) => b.lang === "sh");
  assert.ok(shell.length >= 5);
  assert.deepEqual(
    shell.filter((b) => b.info !== "doc-test").map((b) => b.body),
    [],
    "every sh block of the section is run",
  );

  await using dir = await tempDir();
  await Deno.writeTextFile(
    join(dir.path, "score"),
    `#!/usr/bin/env bash\nexec ${JSON.stringify(join(ROOT, "score"))} "$@"\n`,
  );
  await Deno.chmod(join(dir.path, "score"), 0o755);
  await Deno.symlink(join(ROOT, "data"), join(dir.path, "data"));
  await Deno.symlink(join(ROOT, "tests"), join(dir.path, "tests"));
  await Deno.mkdir(join(dir.path, "models"));
  for await (const entry of Deno.readDir(join(ROOT, "models"))) {
    await Deno.symlink(join(ROOT, "models", entry.name), join(dir.path, "models", entry.name));
  }

  for (const block of shell) {
    const next = all.find((b) => b.start > block.end);
    const expected = next?.lang === "text" && markdown.slice(block.end, next.start).trim() === "" ? next.body : null;
    const needsPython = block.body.includes("/usr/bin/python3");
    await t.step({
      name: block.body.split("\n")[0],
      ignore: needsPython && !HAVE_SKLEARN,
      fn: async () => {
        // The page's scratch folder, made this run's own; the output names it as the page does.
        const scratch = join(dir.path, "iris");
        const out = await new Deno.Command("bash", {
          args: ["-eu", "-c", block.body.replaceAll("/tmp/iris", scratch)],
          cwd: dir.path,
          stdout: "piped",
          stderr: "piped",
        }).output();
        const stdout = new TextDecoder().decode(out.stdout).replaceAll(scratch, "/tmp/iris");
        assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
        if (expected !== null) assert.equal(stdout.trimEnd(), expected.trimEnd());
      },
    });
  }
  // A scratch model in models/ would be listed as a shipped one.
  await assert.rejects(() => Deno.stat(join(dir.path, "models", "iris")), Deno.errors.NotFound);
});
