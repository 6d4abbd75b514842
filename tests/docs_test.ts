/**
 * Where the docs repeat what the code decides, they agree with it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { logLines, ROOT, runScore, tempDir } from "./helpers.ts";
import { PG_URL, withDb } from "./postgres/helpers.ts";
import { startServer } from "./commands/serve_process.ts";

const read = (file: string) => Deno.readTextFile(join(ROOT, file));

Deno.test("the docs agree with the code", async (t) => {
  await t.step("the serve examples use serve's default port", async () => {
    const help = (await runScore(["serve", "--help"])).stdout.replace(/\s+/g, " ");
    const port = help.match(/--port <port> .*?\(default: (\d+)/)?.[1];
    assert.ok(port, "serve --help shows the default port");
    for (const file of ["README.md", "docs/serve.md"]) {
      const text = await read(file);
      const ports = [...text.matchAll(/localhost:(\d+)/g)].map((m) => m[1]);
      assert.ok(ports.length > 0, file);
      for (const p of ports) assert.equal(p, port, `${file} uses localhost:${p}`);
    }
  });
  await t.step("docs/serve.md lists exactly the permissions the container grants", async () => {
    const granted = (await read("Dockerfile")).match(/exec deno run [^\n]*?((?:--allow-[a-z]+ ?)+)/)![1].trim().split(
      /\s+/,
    );
    const listed = (await read("docs/serve.md")).replace(/\s+/g, " ").match(/with only `((?:--allow-[a-z]+ ?)+)`/)![1]
      .trim().split(/\s+/);
    assert.deepEqual(listed.sort(), granted.sort());
  });
});

Deno.test("docs/postgres.md: loading the shipped rides, as typed, logs what it says", async (t) => {
  const text = await read("docs/postgres.md");
  const at = text.indexOf("## Loading the shipped rides");
  const start = text.indexOf("```sh\n", at) + 6;
  const block = text.slice(start, text.indexOf("```", start));
  await using dir = await tempDir();
  const out = join(dir.path, "february.parquet");
  await withDb(
    ["rides", "rides_lower", "ride_predictions", "ride_rejects", "k8s_predictions"],
    async ({ sql }, [rides, lower, predictions, rejects, k8sPredictions]) => {
      const commands = block.replaceAll("\\\n", " ").split("\n").filter((l) => l.trim() !== "").map((line) =>
        [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]).map((arg) =>
          arg === "rides"
            ? rides
            : arg === "/tmp/february.parquet"
            ? out
            : arg.replace("postgres://postgres@127.0.0.1:5432/test", PG_URL).replace(/\bfrom rides\b/, `from ${rides}`)
        )
      );
      assert.equal(commands.length, 2);
      const logs: Record<string, unknown>[][] = [];
      for (const [launcher, ...args] of commands) {
        assert.equal(launcher, "./score");
        const r = await runScore(args, { cwd: ROOT });
        assert.equal(r.code, 0, r.stderr);
        logs.push(logLines(r.stderr));
      }
      await t.step("the load logs 64,572 rides", () => {
        const done = logs[0].find((l) => l.msg === "batch done")!;
        assert.equal(done.read, 64572);
        assert.equal(done.predicted, 64572);
      });
      await t.step("scoring February from the table logs 64,570", () => {
        const done = logs[1].find((l) => l.msg === "window done")!;
        assert.equal(done.read, 64570);
        assert.equal(done.predicted, 64570);
      });
      await t.step("the columns keep their case", async () => {
        const [{ n }] = await sql`select count("PULocationID")::int as n from ${sql(rides)}`;
        assert.equal(n, 64572);
      });
      await t.step("a table with lower-cased names scores too", async () => {
        await sql.unsafe(
          `create table "${lower}" as select lpep_pickup_datetime, "PULocationID" as pulocationid,
         "DOLocationID" as dolocationid, trip_distance from "${rides}" limit 100`,
        );
        const r = await runScore([
          "batch",
          "--model",
          "ride-duration-linreg",
          "--input",
          PG_URL,
          "--table",
          lower,
          "--output",
          "-",
          "--no-progress",
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.trim().split("\n").length, 100);
      });
      /** The args of a shell command of the docs, the page's names replaced by this run's. */
      const ours = (line: string) =>
        [...line.replaceAll("\\\n", " ").matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3])
          .map((arg) =>
            arg.replace("postgres://app@db:5432/rides", PG_URL).replace(/\bfrom rides\b/, `from ${rides}`)
              .replace(/^ride_predictions$/, predictions).replace(/^ride_rejects$/, rejects)
          );
      await t.step("the page's first example scores the day before --at: February 1st of that table", async () => {
        const first = text.slice(text.indexOf("```sh\n") + 6, text.indexOf("```", text.indexOf("```sh\n") + 6));
        const [launcher, ...args] = ours(first);
        assert.equal(launcher, "./score");
        const r = await runScore([...args, "--no-progress"], { cwd: ROOT });
        assert.equal(r.code, 0, r.stderr);
        const done = logLines(r.stderr).find((l) => l.msg === "window done")!;
        assert.equal(done.window_start, "2021-02-01T00:00:00.000Z");
        assert.ok((done.read as number) > 100, `read ${done.read}`);
      });
      await t.step(
        "docs/kubernetes.md's jobs keep and shard by columns that table has, once given its id",
        async () => {
          const k8s = await read("docs/kubernetes.md");
          const oneLine = (t: string) => t.replace(/\s+/g, " ");
          const alter = oneLine(text).match(/`(alter table rides add column ride_id [^`]+)`/)![1];
          assert.ok(oneLine(k8s).includes(alter), "kubernetes.md gives the same statement");
          await sql.unsafe(alter.replace("rides", `"${rides}"`));
          const columns = new Set(
            (await sql`select column_name from information_schema.columns where table_name = ${rides}`).map((c) =>
              c.column_name
            ),
          );
          const named = [...k8s.matchAll(/(?:--keep|--shard-key|SCORE_KEEP\s+value:) ([\w,]+)/g)]
            .flatMap((m) => m[1].split(","));
          assert.ok(named.length >= 5, named.join(" "));
          for (const c of named) assert.ok(columns.has(c), `the rides table has "${c}"`);
          // The Indexed Job's first shard, as its pod runs it.
          const job = k8s.slice(
            k8s.indexOf("exec score batch") + 5,
            k8s.indexOf("env:", k8s.indexOf("exec score batch")),
          );
          const args = ours(job.replace('"$((JOB_COMPLETION_INDEX + 1))/4"', "1/4")).slice(1);
          const r = await runScore(
            [...args, "--input", PG_URL, "--output", PG_URL, "--output-table", k8sPredictions, "--no-progress"],
            {
              cwd: ROOT,
              env: {
                SCORE_QUERY: `select * from "${rides}" where lpep_pickup_datetime >= $1 and lpep_pickup_datetime < $2`,
              },
            },
          );
          assert.equal(r.code, 0, r.stderr);
          const done = logLines(r.stderr).find((l) => l.msg === "window done")!;
          assert.ok((done.read as number) > 10_000 && (done.read as number) < 30_000, `shard 1/4 read ${done.read}`);
        },
      );
    },
  );
});

Deno.test("README's batch examples on the shipped files run as typed", async (t) => {
  const readme = await read("README.md");
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  const commands = blocks.flatMap((b) => b.replaceAll("\\\n", " ").split("\n"))
    .map((l) => l.trim())
    .filter((l) => l.startsWith("./score batch") && l.includes("--input data/"));
  assert.ok(commands.length >= 2, "the README has batch examples on files");
  await using dir = await tempDir();
  for (const command of commands) {
    await t.step(command, async () => {
      const args = command.split(/\s+/).slice(1).map((a) => a.replaceAll("/tmp/", `${dir.path}/`));
      const r = await runScore([...args, "--no-progress"], { cwd: ROOT });
      assert.equal(r.code, 0, r.stderr);
      const done = logLines(r.stderr).find((l) => l.msg === "batch done")!;
      assert.equal(done.read, 64572);
    });
  }
});

Deno.test("docs/serve.md: the iris classifier of docs/models.md answers its curl as shown", async () => {
  const text = await read("docs/serve.md");
  const at = text.indexOf("models/iris/predict");
  const start = text.lastIndexOf("```sh\n", at) + 6;
  const lines = text.slice(start, text.indexOf("```", start)).trim().split("\n");
  assert.equal(lines.length, 3, "a serve line, a curl line, its answer");
  const [serve, curl, answer] = lines;
  await using dir = await tempDir();
  // models.md's /tmp/iris, made this run's own.
  const iris = join(dir.path, "iris");
  await Deno.mkdir(iris);
  await Deno.copyFile(join(ROOT, "tests/fixtures/real-exports/lgbm_iris_zipmap/model.onnx"), join(iris, "model.onnx"));
  const args = serve.replace(/^\.\/score serve /, "").replaceAll("/tmp/iris", iris).split(/\s+/);
  await using server = await startServer(args);
  const out = await new Deno.Command("bash", {
    args: ["-eu", "-c", curl.replace("localhost:9696", `127.0.0.1:${server.port}`)],
    stdout: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(out.stdout), answer.replace(/^# /, ""));
});
