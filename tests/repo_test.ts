/**
 * The repository stands alone and speaks of itself and of the course: no
 * text a user reads (docs, help, code, examples) points at files beside
 * the checkout or at words only its authors knew.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DATA, ROOT } from "./helpers.ts";

/** What a user reads: everything committed but the data, the lockfile and the fixtures. */
const SCANNED = [
  "README.md",
  "Dockerfile",
  "Makefile",
  "main.ts",
  "score",
  "deno.json",
  "scripts",
  "src",
  "docs",
  "models",
  "bench",
  "examples",
  "tests",
  "data/README.md",
];
const SKIPPED = /\.(onnx|parquet|csv|bin|pkl|lock)$|\/fixtures\/|\/MLmodel$/;

// Spelled in pieces so this file does not match itself.
const WORDS: [string, RegExp][] = [
  ["the project's origin", new RegExp(`\\b${"se"}ed(-shaped|'s)?\\b`, "i")],
  ["an authors' notes file", new RegExp(`(?<!bench/)${"NO"}TES\\.md`)],
  ["a tracker's words", new RegExp(`\\b(the ${"iss"}ue|${"iss"}ue's|${"tic"}ket)\\b`, "i")],
  ["a folder beside the checkout", new RegExp(`\\.\\./${"sha"}red|/${"wo"}rk/|SCORE_${"SHA"}RED`)],
];

/** The files under `SCANNED` that git keeps or would keep (not what .gitignore leaves out: caches, build output). */
async function committedFiles(): Promise<string[]> {
  const out = await new Deno.Command("git", {
    args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", ...SCANNED],
    cwd: ROOT,
    stdout: "piped",
  })
    .output();
  assert.ok(out.success, "git ls-files failed");
  return new TextDecoder().decode(out.stdout).split("\0").filter((f) => f !== "" && !SKIPPED.test(f));
}

Deno.test("no shipped text uses words from outside the project or names a file a user does not have", async (t) => {
  const hits: Record<string, string[]> = {};
  for (const file of await committedFiles()) {
    const lines = (await Deno.readTextFile(join(ROOT, file))).split("\n");
    lines.forEach((line, i) => {
      for (const [what, re] of WORDS) {
        if (re.test(line)) (hits[what] ??= []).push(`${file}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  for (const [what] of WORDS) {
    await t.step(what, () => assert.deepEqual(hits[what] ?? [], []));
  }
});

Deno.test("the course's data and pickles are in the repository", async (t) => {
  for (
    const file of [
      "green_tripdata_2021-01.parquet",
      "green_tripdata_2021-02.parquet",
      "green_tripdata_2021-03.parquet",
      "telco_customer_churn.csv",
      "course/lin_reg.bin",
      "course/rf_pipeline/model.pkl",
      "course/rf_pipeline/MLmodel",
      "course/churn_model.bin",
    ]
  ) {
    await t.step(file, async () => {
      assert.ok((await Deno.stat(join(DATA, file))).size > 0);
      assert.match(
        await Deno.readTextFile(join(DATA, "README.md")),
        new RegExp(file.split("/").pop()!.replace(".", "\\.")),
      );
    });
  }
});

Deno.test("`make test` is quiet: one dot a test, then the failures and the summary", async () => {
  const { tasks } = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  // Environment settings may come first (onnxruntime's telemetry off for the tests that load it directly).
  assert.match(tasks.test, /^(?:[A-Z_]+=\S+ )*deno test .*--reporter=dot\b/);
  assert.match(await Deno.readTextFile(join(ROOT, "Makefile")), /^test:.*\n\t\$\(DENO\) task test$/m);
});
