/**
 * The Dockerfile cannot be built here (no Docker engine), so its promises
 * are checked as text: a non-root user, a health check on readiness, the
 * service listening on all interfaces, and every copied path present.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "./helpers.ts";

Deno.test("Dockerfile", async (t) => {
  const text = await Deno.readTextFile(join(ROOT, "Dockerfile"));
  const lines = text.replace(/\\\n/g, " ").split("\n").map((l) => l.trim()).filter((l) =>
    l !== "" && !l.startsWith("#")
  );
  const instructions = lines.map((l) => ({
    op: l.split(/\s+/)[0].toUpperCase(),
    args: l.slice(l.indexOf(" ") + 1).trim(),
  }));

  await t.step("runs as a non-root user", () => {
    const users = instructions.filter((i) => i.op === "USER").map((i) => i.args);
    assert.ok(users.length > 0);
    assert.notEqual(users.at(-1), "root");
    assert.notEqual(users.at(-1), "0");
  });

  await t.step("checks health on /v2/health/ready", () => {
    const check = instructions.find((i) => i.op === "HEALTHCHECK");
    assert.ok(check);
    assert.match(check.args, /\/v2\/health\/ready/);
  });

  await t.step("listens on all interfaces and serves a shipped model", async () => {
    assert.match(text, /SCORE_HOST=0\.0\.0\.0/);
    const cmd = JSON.parse(instructions.find((i) => i.op === "CMD")!.args) as string[];
    assert.equal(cmd[0], "serve");
    const model = cmd[cmd.indexOf("--model") + 1].replace(/^\/app\//, "");
    assert.ok((await Deno.stat(join(ROOT, model, "model.onnx"))).isFile, model);
  });

  await t.step("puts `score` on PATH for every command (the Kubernetes examples call it)", () => {
    assert.deepEqual(JSON.parse(instructions.find((i) => i.op === "ENTRYPOINT")!.args), ["score"]);
    assert.match(text, /> \/usr\/local\/bin\/score/);
    assert.match(text, /--allow-write/, "batch jobs write files");
  });

  await t.step(
    "warms V8's code cache at build time: every command once, through `score`, as root before USER",
    async () => {
      const run = instructions.filter((i) => i.op === "RUN").map((i) => i.args).join(" && ");
      const warm = /deno run --cached-only --allow-all (\S+) score (\S+)/.exec(run);
      assert.ok(warm, "runs the warm-up through the `score` on PATH");
      assert.ok(run.indexOf("deno install") < run.indexOf(warm[0]), "after deno install");
      assert.ok(run.indexOf("> /usr/local/bin/score") < run.indexOf(warm[0]), "after `score` is on PATH");
      assert.ok(
        run.indexOf(warm[0]) < run.lastIndexOf("chown -R deno:deno /app/.deno"),
        "the cache handed to the user",
      );
      assert.ok(instructions.some((i) => i.op === "COPY" && i.args.includes(warm[1])), `${warm[1]} copied`);
      assert.ok((await Deno.stat(join(ROOT, warm[2].replace(/^\/app\//, ""), "model.onnx"))).isFile);
      const script = await Deno.readTextFile(join(ROOT, warm[1]));
      for (const command of ["batch", "consume", "inspect", "merge-drift", "profile", "publish", "serve"]) {
        assert.match(script, new RegExp(`\\["${command}"|"${command}",`), `${warm[1]} runs ${command}`);
      }
      // Each run ends as the script expects (a command line refused would fail the image's build).
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-all",
          join(ROOT, warm[1]),
          join(ROOT, "score"),
          join(ROOT, warm[2].replace(/^\/app\//, "")),
        ],
        stdout: "null",
        stderr: "piped",
        signal: AbortSignal.timeout(240_000),
      }).output();
      const said = new TextDecoder().decode(out.stderr);
      assert.ok(out.success, said.slice(-3000));
      for (const command of ["batch", "consume", "inspect", "merge-drift", "profile", "publish", "serve"]) {
        assert.match(said, new RegExp(`^warmed: score ${command} `, "m"), `${warm[1]} warmed ${command}`);
      }
    },
  );

  await t.step("copies only paths that exist", async () => {
    for (const copy of instructions.filter((i) => i.op === "COPY")) {
      const parts = copy.args.split(/\s+/).filter((p) => !p.startsWith("--"));
      for (const source of parts.slice(0, -1)) await Deno.stat(join(ROOT, source));
    }
  });
});
