/**
 * Temporary files of killed jobs: the next job writing the same output
 * removes those whose process is gone, and only those.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FIXTURES, logLines, MODELS, runScore, tempDir } from "../helpers.ts";

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

Deno.test("score batch removes the DuckDB spill folders of earlier runs that were killed, and no other", async () => {
  await using tmp = await tempDir();
  await using dir = await tempDir();
  const host = Deno.hostname().replace(/[^A-Za-z0-9-]/g, "_");
  const dead = await deadPid();
  // As DuckDB leaves them when it spilled: `score-staging-<host>.<pid>-<random>`, files inside.
  const folders = {
    stale: `score-staging-${host}.${dead}-0000000a`,
    live: `score-staging-${host}.${Deno.pid}-0000000b`,
    otherHost: `score-staging-elsewhere.${dead}-0000000c`,
  };
  for (const name of Object.values(folders)) {
    await Deno.mkdir(join(tmp.path, name));
    await Deno.writeTextFile(join(tmp.path, name, "duckdb_temp_storage-0.tmp"), "x");
  }
  const run = await scoreSmallRides(join(dir.path, "pred.parquet"), { TMPDIR: tmp.path });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(
    [...Deno.readDirSync(tmp.path)].map((e) => e.name).filter((n) => n.startsWith("score-staging-")).sort(),
    [folders.live, folders.otherHost].sort(),
    "the dead run's folder removed; a live one's and another host's kept; none of its own left",
  );
  const line = logLines(run.stderr).find((l) => String(l.msg).startsWith("removed the temporary folder"));
  assert.ok(line, run.stderr);
  assert.equal(line.folder, join(tmp.path, folders.stale));
  assert.equal(line.pid, dead);
});
