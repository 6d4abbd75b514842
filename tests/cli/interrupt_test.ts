/**
 * The one signal helper of every command, in a child process: the first
 * signal asks the command to stop, a second one (or the stop timeout)
 * exits at once with the signal's exit code.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { logLines } from "../helpers.ts";

const CHILD = fileURLToPath(new URL("./fixtures/interrupted.ts", import.meta.url));

async function run(args: string[], signals: Deno.Signal[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-env", CHILD, ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const deadline = setTimeout(() => child.kill("SIGKILL"), 30_000);
  try {
    const stderr = new Response(child.stderr).text();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    const waitFor = async (line: string) => {
      while (!out.includes(line)) {
        const { done, value } = await reader.read();
        if (done) return;
        out += value;
      }
    };
    // Signal once the listener is in place, and again only once the first was handled (two pending
    // signals of one kind would be delivered as one).
    await waitFor("listening");
    for (const s of signals) {
      child.kill(s);
      await waitFor("aborted");
    }
    await waitFor("never printed");
    const status = await child.status;
    return { code: status.code, messages: logLines(await stderr).map((l) => l.msg) };
  } finally {
    clearTimeout(deadline);
  }
}

Deno.test("listenForInterrupt", async (t) => {
  await t.step("the first signal asks the command to stop; it stops its own way", async () => {
    const { code, messages } = await run(["stop"], ["SIGINT"]);
    assert.deepEqual([code, messages], [0, ["SIGINT: stopping"]]);
  });
  await t.step("a second signal exits at once: 130 for SIGINT", async () => {
    const { code, messages } = await run(["hang"], ["SIGINT", "SIGINT"]);
    assert.deepEqual([code, messages], [130, ["SIGINT: stopping", "SIGINT again: exiting at once"]]);
  });
  await t.step("with a stop timeout, a command that does not stop is ended: 143 for SIGTERM", async () => {
    const { code, messages } = await run(["hang", "300"], ["SIGTERM"]);
    assert.deepEqual([code, messages], [143, [
      "SIGTERM: stopping",
      "SIGTERM: not stopped after 0.3 s: exiting at once",
    ]]);
  });
});
