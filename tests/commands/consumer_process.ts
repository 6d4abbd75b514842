/**
 * A running `./score consume` for tests: the real launcher, its JSON logs
 * collected as they come, stopped by a signal.
 */
import { join } from "node:path";
import { logLines, ROOT, scoreEnv, waitUntil } from "../helpers.ts";
import { AMQP_URL } from "../queue/broker.ts";

/** A running `./score consume`, its logs read as they come. */
export class Consumer {
  readonly #child: Deno.ChildProcess;
  readonly logs: Record<string, any>[] = [];
  stdout = "";
  readonly #done: Promise<number>;

  /**
   * Starts `./score consume --amqp-url <test broker> ...args`, with one worker unless `--workers` or `env` says; with
   * `headLines`, standard output is closed once that many lines are read (as `| head -n N`).
   */
  constructor(args: string[], env: Record<string, string | undefined> = {}, headLines?: number) {
    this.#child = new Deno.Command(join(ROOT, "score"), {
      args: ["consume", "--amqp-url", AMQP_URL, ...args],
      ...scoreEnv(env),
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).spawn();
    const lines = async (stream: ReadableStream<Uint8Array>, onLine: (l: string) => void, most = Infinity) => {
      let rest = "";
      let n = 0;
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop()!;
        for (const part of parts.slice(0, most - n)) onLine(part);
        n += parts.length;
        if (n >= most) break; // leaving the loop cancels the stream: the pipe's reader is gone
      }
    };
    const reading = Promise.all([
      lines(this.#child.stderr, (l) => this.logs.push(...logLines(l))),
      lines(this.#child.stdout, (l) => (this.stdout += l + "\n"), headLines),
    ]);
    this.#done = Promise.all([this.#child.status, reading]).then(([s]) => s.code);
  }

  /** Resolves with the first log line with this message. */
  async waitForLog(msg: string, timeoutMs = 30_000): Promise<Record<string, any>> {
    const find = () => this.logs.find((l) => l.msg === msg);
    await waitUntil(() => find() !== undefined, `a "${msg}" log line`, timeoutMs).catch((err) => {
      throw new Error(`${err.message}; logs: ${JSON.stringify(this.logs)}`);
    });
    return find()!;
  }

  /** Resolves with the exit code once the process ends of itself. */
  exited(): Promise<number> {
    return this.#done;
  }

  /** Sends a signal without waiting (SIGHUP: reload the model). */
  kill(signal: Deno.Signal): void {
    this.#child.kill(signal);
  }

  /** Sends a signal and resolves with the exit code. */
  stop(signal: Deno.Signal = "SIGTERM"): Promise<number> {
    try {
      this.#child.kill(signal);
    } catch { /* already gone */ }
    return this.#done;
  }
}
