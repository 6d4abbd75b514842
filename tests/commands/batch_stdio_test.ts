/**
 * `score batch` as a Unix filter: `--input -` reads stdin, `--output -`
 * writes stdout, and a reader that stops early (`| head`) is a normal end.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliArgs, DATA, FIXTURES, logLines, ROOT, tempDir } from "../helpers.ts";

const CSV = join(DATA, "telco_customer_churn.csv");

/** Runs `./score batch` with `stdin` fed from a file (or nothing) and all of stdout read, or only `headLines` of it. */
async function batch(args: string[], o: { stdinFile?: string; headLines?: number } = {}) {
  const child = new Deno.Command(join(ROOT, "score"), {
    args: ["batch", "--no-progress", ...args],
    stdin: o.stdinFile ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).spawn();
  const feeding = o.stdinFile
    ? (await Deno.open(o.stdinFile)).readable.pipeTo(child.stdin).catch(() => {})
    : Promise.resolve();
  const stderr = new Response(child.stderr).text();
  let stdout = "";
  if (o.headLines === undefined) {
    stdout = await new Response(child.stdout).text();
  } else {
    // Like `head -n`: read until enough lines, then close the pipe.
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    while (stdout.split("\n").length <= o.headLines) {
      const r = await reader.read();
      if (r.done) break;
      stdout += r.value;
    }
    await reader.cancel();
  }
  const status = await child.status;
  await feeding;
  return { code: status.code, stdout, stderr: await stderr };
}

Deno.test("score batch --output - | head: a closed stdout is a normal end", async (t) => {
  for (const format of ["jsonl", "csv"]) {
    await t.step(`--output - --output-format ${format}`, async () => {
      const r = await batch(["--model", "churn", "--input", CSV, "--output", "-", "--output-format", format], {
        headLines: 2,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.length > 0);
      const loud = logLines(r.stderr).filter((l) => l.level === "warn" || l.level === "error");
      assert.deepEqual(loud, []);
    });
  }
  await t.step("--output - --output-format csv writes CSV on stdout, not a file named -", async () => {
    const r = await batch([
      ...cliArgs({
        "--model": "churn",
        "--input": join(FIXTURES, "churn_small.csv"),
        "--output": "-",
        "--output-format": "csv",
      }),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines[0], "churn_probability,churn,model_name,model_version");
    assert.equal(lines.length, 51);
    await assert.rejects(Deno.stat(join(ROOT, "-")));
  });
  await t.step("Parquet cannot go to stdout: a usage error", async () => {
    const r = await batch(["--model", "churn", "--input", CSV, "--output", "-", "--output-format", "parquet"]);
    assert.equal(r.code, 64);
    assert.match(r.stderr, /Parquet cannot be written to stdout/);
  });
});

Deno.test("score batch --input -: standard input, JSON lines unless --input-format says otherwise", async (t) => {
  await using dir = await tempDir();
  const rides = [
    { PULocationID: 10, DOLocationID: 50, trip_distance: 40 },
    { PULocationID: 130, DOLocationID: 205, trip_distance: 3.66 },
  ];
  const files: Record<string, string> = {
    "rides.jsonl": rides.map((r) => JSON.stringify(r)).join("\n") + "\n",
    "rides.json": JSON.stringify(rides, null, 2),
    "rides.csv": "PULocationID,DOLocationID,trip_distance\n10,50,40\n130,205,3.66\n",
  };
  for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(join(dir.path, name), text);
  const want = [26.43883355119793, 12.78553032985699];
  const cases: [string, string[], string][] = [
    ["JSON lines by default", [], "rides.jsonl"],
    ["a JSON array", ["--input-format", "jsonl"], "rides.json"],
    ["CSV with --input-format csv", ["--input-format", "csv"], "rides.csv"],
  ];
  for (const [name, format, file] of cases) {
    await t.step(name, async () => {
      const r = await batch(["--model", "ride-duration-linreg", "--input", "-", ...format, "--output", "-"], {
        stdinFile: join(dir.path, file),
      });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split("\n").map((l) => JSON.parse(l).duration), want);
      assert.equal(logLines(r.stderr).find((l) => l.msg === "batch started")?.input, "stdin");
    });
  }
  await t.step("a .json file holding an array", async () => {
    const r = await batch([
      ...cliArgs({ "--model": "ride-duration-linreg", "--input": join(dir.path, "rides.json"), "--output": "-" }),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split("\n").map((l) => JSON.parse(l).duration), want);
  });
  await t.step("Parquet from stdin is a usage error", async () => {
    const r = await batch([
      ...cliArgs({ "--model": "ride-duration-linreg", "--input": "-", "--input-format": "parquet", "--output": "-" }),
    ], {
      stdinFile: join(DATA, "green_tripdata_2021-02.parquet"),
    });
    assert.equal(r.code, 64);
    assert.match(r.stderr, /Parquet cannot be read from stdin/);
  });
});
