/**
 * onnxruntime's own telemetry is off: a model loaded by score, in process or
 * in a worker, leaves nothing under the home folder or in the temporary one,
 * while onnxruntime left to itself (`ORT_DISABLE_TELEMETRY=0`, a user's
 * explicit choice, kept) writes its device id and event database in the
 * first and a `mat-debug-<pid>.log` in the second.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MODELS, ROOT } from "../helpers.ts";

const CHILD = fileURLToPath(new URL("./fixtures/load_model_once.ts", import.meta.url));

Deno.test("onnxruntime's telemetry", async (t) => {
  // The child gets a home folder of its own, and this process's Deno cache (a fresh one would compile everything).
  const info = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" }).output();
  const denoDir: string = JSON.parse(new TextDecoder().decode(info.stdout)).denoDir;
  const cases = [
    { name: "a model loaded in process: nothing written", thread: "main", switch: undefined, written: false },
    { name: "a model loaded in a worker: nothing written", thread: "worker", switch: undefined, written: false },
    {
      name: "ORT_DISABLE_TELEMETRY=0 is kept: onnxruntime writes its files",
      thread: "main",
      switch: "0",
      written: true,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const home = await Deno.makeTempDir({ prefix: "score_home_" });
      try {
        // Its temporary folder too: onnxruntime's telemetry also leaves a `mat-debug-<pid>.log` there.
        const env: Record<string, string> = {
          PATH: Deno.env.get("PATH") ?? "",
          HOME: home,
          TMPDIR: home,
          DENO_DIR: denoDir,
        };
        if (c.switch !== undefined) env.ORT_DISABLE_TELEMETRY = c.switch;
        const out = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "--allow-all",
            "--quiet",
            "--config",
            join(ROOT, "deno.json"),
            CHILD,
            join(MODELS, "ride-duration-linreg"),
            c.thread,
          ],
          clearEnv: true,
          env,
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
        const files: string[] = [];
        const walk = async (dir: string) => {
          for await (const e of Deno.readDir(dir)) {
            if (e.isDirectory) await walk(join(dir, e.name));
            else files.push(join(dir, e.name).slice(home.length + 1));
          }
        };
        await walk(home);
        const telemetry = files.filter((f) => f.startsWith(join(".cache", "Microsoft")) || f.startsWith("mat-debug-"));
        if (c.written) {
          assert.ok(telemetry.some((f) => f.endsWith("onnxruntime.db")), `files: ${files.join(", ")}`);
          assert.ok(telemetry.some((f) => f.startsWith("mat-debug-")), `files: ${files.join(", ")}`);
        } else assert.deepEqual(telemetry, []);
      } finally {
        await Deno.remove(home, { recursive: true });
      }
    });
  }
});
