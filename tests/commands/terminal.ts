/**
 * `./score` run at a terminal, as a person runs it: `script` gives it a
 * pseudo-terminal for stdin, stdout and stderr, and what the test writes
 * is typed into it (`"\x03"` is Ctrl-C, turned into SIGINT by the
 * terminal, as a keyboard's would be).
 */
import { join } from "node:path";
import { ROOT, scoreEnv, waitUntil } from "../helpers.ts";

/** A `./score` running at a terminal. */
export interface AtTerminal {
  /** What the terminal showed so far (stdout and stderr together). */
  readonly output: () => string;
  /** Types `text` at the terminal. */
  type(text: string): Promise<void>;
  /** Resolves once the terminal shows `text`. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  /** The exit code of `script`, which is the command's. */
  readonly status: Promise<number>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts `./score <args>` at a terminal.
 *
 * @example
 * ```ts
 * await using t = atTerminal(["serve", "--model", "churn", "--port", "0"]);
 * await t.waitFor("listening");
 * await t.type("\x03");
 * ```
 */
export function atTerminal(args: string[], env: Record<string, string> = {}): AtTerminal {
  const quoted = [join(ROOT, "score"), ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
  // `script` runs the command with $SHELL -c (sh without SHELL, as in CI). `exec` leaves no shell between the
  // terminal and score: dash, in the foreground group too, would take the Ctrl-C and exit 130 whatever score did.
  const child = new Deno.Command("script", {
    args: ["-qfec", `exec ${quoted}`, "/dev/null"],
    // One worker unless told (see ONE_WORKER in tests/helpers.ts).
    ...scoreEnv(env),
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const kill = setTimeout(() => child.kill("SIGKILL"), 120_000);
  let text = "";
  const reading = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) text += chunk;
  })();
  const writer = child.stdin.getWriter();
  const status = Promise.all([child.status, reading]).then(([s]) => {
    clearTimeout(kill);
    return s.code;
  });
  return {
    output: () => text,
    type: (t) => writer.write(new TextEncoder().encode(t)),
    waitFor: (t, timeoutMs = 60_000) =>
      waitUntil(() => text.includes(t), `"${t}" at the terminal`, timeoutMs).catch((err) => {
        throw new Error(`${err.message}; it showed: ${text}`);
      }),
    status,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await status;
      await writer.close().catch(() => {});
    },
  };
}
