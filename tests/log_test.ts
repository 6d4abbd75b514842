/**
 * The log's two forms: JSON lines for whatever collects them, text for a
 * person at a terminal; chosen by `--log-format`, `LOG_FORMAT` or whether
 * stderr is a terminal, and secrets masked in both.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { log } from "../src/log.ts";
import { ROOT, runScore } from "./helpers.ts";

/** The lines `log` writes while `fn` runs, in `format`. */
function captured(format: "json" | "text", fn: () => void): string[] {
  const lines: string[] = [];
  log.setFormat(format);
  log.divert((line) => lines.push(line));
  try {
    fn();
  } finally {
    log.divert(undefined);
    log.setFormat("json");
  }
  return lines;
}

Deno.test("log lines: text for a person, JSON for a collector, secrets masked in both", async (t) => {
  const secretly = () =>
    log.warn("cannot reach amqp://guest:s3cret@127.0.0.1:5672", {
      url: "postgres://app:s3cret@db:5432/rides",
      model: "https://h/m.onnx?X-Amz-Signature=s3cret&x=1",
      rows: 12,
      queue: "my queue",
      missing: undefined,
    });
  await t.step("text: clock, level, message, then key=value, quoted when not one word", () => {
    const [line] = captured("text", secretly);
    assert.match(
      line,
      new RegExp(
        String.raw`^\d\d:\d\d:\d\d\.\d{3} WARN  cannot reach amqp://guest:\*\*\*@127\.0\.0\.1:5672 ` +
          String.raw`url=postgres://app:\*\*\*@db:5432/rides model="https://h/m\.onnx\?X-Amz-Signature=\*\*\*&x=1" ` +
          String.raw`rows=12 queue="my queue"\n$`,
      ),
    );
    assert.doesNotMatch(line, /s3cret/);
  });
  await t.step("json: one object a line, the same fields masked", () => {
    const [line] = captured("json", secretly);
    const parsed = JSON.parse(line);
    assert.deepEqual([parsed.level, parsed.url, parsed.rows, parsed.queue], [
      "warn",
      "postgres://app:***@db:5432/rides",
      12,
      "my queue",
    ]);
    assert.doesNotMatch(line, /s3cret/);
  });
});

Deno.test("score's log format: --log-format beats LOG_FORMAT, which beats whether stderr is a terminal", async (t) => {
  // A quick failure that logs one error line: a model that is not there.
  const failing = ["inspect", "--model", "missing/model"];
  const json = /^\{"time":"[^"]+","level":"error","msg":"Model not found: \\"missing\/model\\" does not exist"/m;
  const text =
    /^\d\d:\d\d:\d\d\.\d{3} ERROR Model not found: "missing\/model" does not exist code=model_not_found\r?$/m;
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ["stderr piped: JSON lines", failing, {}, json],
    ["--log-format text", ["--log-format", "text", ...failing], {}, text],
    ["--log-format after the command", [...failing, "--log-format", "text"], {}, text],
    ["LOG_FORMAT=text", failing, { LOG_FORMAT: "text" }, text],
    ["the flag beats the variable", [...failing, "--log-format", "json"], { LOG_FORMAT: "text" }, json],
  ];
  for (const [name, args, env, expected] of cases) {
    await t.step(name, async () => {
      const r = await runScore(args, { env });
      assert.equal(r.code, 66, r.stderr);
      assert.match(r.stderr, expected);
    });
  }
  // `script` gives the command a terminal for stdin, stdout and stderr, as a person's shell would.
  const onTerminal = async (env: Record<string, string>) => {
    const out = await new Deno.Command("script", {
      args: ["-qec", [join(ROOT, "score"), ...failing].join(" "), "/dev/null"],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    return new TextDecoder().decode(out.stdout);
  };
  await t.step("stderr a terminal: text", async () => {
    assert.match(await onTerminal({}), text);
  });
  await t.step("stderr a terminal, LOG_FORMAT=json: JSON lines", async () => {
    assert.match(await onTerminal({ LOG_FORMAT: "json" }), json);
  });
  await t.step("LOG_FORMAT=xml is a usage error", async () => {
    const r = await runScore(failing, { env: { LOG_FORMAT: "xml" } });
    assert.equal(r.code, 64);
    assert.match(r.stderr, /LOG_FORMAT/);
  });
});
