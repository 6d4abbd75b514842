/**
 * Temporary files of killed jobs: the next job writing the same output
 * removes those whose process is gone, and only those.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FIXTURES, logLines, MODELS, ROOT, runScore, tempDir, waitUntil } from "../helpers.ts";

/** A process id that is no longer running: a child that has exited. */
/** `score batch` of the small rides file to `output`, as a user would run it. */
function scoreSmallRides(output: string, env?: Record<string, string>) {
  const args = ["batch", "--model", join(MODELS, "ride-duration-linreg"), "--no-progress"];
  return runScore([...args, "--input", join(FIXTURES, "rides_small.csv"), "--output", output], { env });
}

async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

Deno.test("score batch removes the temporary files of earlier runs that were killed, and no other", async () => {
  await using dir = await tempDir();
  const host = Deno.hostname().replace(/[^A-Za-z0-9-]/g, "_");
  const dead = await deadPid();
  const files = {
    stale: `.pred.csv.${host}.${dead}-0000000a.tmp`,
    live: `.pred.csv.${host}.${Deno.pid}-0000000b.tmp`,
    otherHost: `.pred.csv.elsewhere.${dead}-0000000c.tmp`,
    otherOutput: `.other.csv.${host}.${dead}-0000000d.tmp`,
    notOurs: `.pred.csv.notes.tmp`,
  };
  for (const name of Object.values(files)) await Deno.writeTextFile(join(dir.path, name), "x".repeat(1000));
  const run = await scoreSmallRides(join(dir.path, "pred.csv"));
  assert.equal(run.code, 0, run.stderr);
  const left = [];
  for await (const e of Deno.readDir(dir.path)) left.push(e.name);
  assert.deepEqual(
    left.sort(),
    ["pred.csv", files.live, files.otherHost, files.otherOutput, files.notOurs].sort(),
    "the dead run's file removed; live, other hosts', other outputs' and unknown files kept; none of its own left",
  );
  const line = logLines(run.stderr).find((l) => String(l.msg).startsWith("removed the temporary file"));
  assert.ok(line, run.stderr);
  assert.equal(line.file, join(dir.path, files.stale));
  assert.equal(line.bytes, 1000);
});

Deno.test("score batch removes the staging folder of a Parquet job killed with -9, and says so", async () => {
  await using tmp = await tempDir();
  await using dir = await tempDir();
  const env = { TMPDIR: tmp.path };
  const stagingFolders = () => [...Deno.readDirSync(tmp.path)].filter((e) => e.isDirectory).map((e) => e.name);
  // A job reading standard input, kept open: it waits for rows with its staging folder made.
  const child = new Deno.Command(join(ROOT, "score"), {
    args: [
      "batch",
      "--model",
      join(MODELS, "ride-duration-linreg"),
      "--no-progress",
      "--input",
      "-",
      "--input-format",
      "csv",
      "--output",
      join(dir.path, "killed.parquet"),
    ],
    env,
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("PULocationID,DOLocationID,trip_distance\n130,205,3.66\n"));
  await waitUntil(() => stagingFolders().length > 0, "the staging folder", 30_000);
  child.kill("SIGKILL");
  assert.equal((await child.status).signal, "SIGKILL");
  await writer.close().catch(() => {});
  const [left] = stagingFolders();
  assert.ok(left?.startsWith(`score-staging-${Deno.hostname().replace(/[^A-Za-z0-9-]/g, "_")}.${child.pid}-`), left);

  const run = await scoreSmallRides(join(dir.path, "pred.parquet"), env);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(stagingFolders(), [], "the killed job's folder removed; the new job's own removed at its end");
  const line = logLines(run.stderr).find((l) => String(l.msg).startsWith("removed the temporary folder"));
  assert.ok(line, run.stderr);
  assert.equal(line.folder, join(tmp.path, left));
  assert.equal(line.pid, child.pid);
});
