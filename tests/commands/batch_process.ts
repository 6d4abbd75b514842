/**
 * A `score batch` process for tests that fault it while it runs: waited
 * for with a bound (killed past it), its stderr checked to be log lines.
 */
import assert from "node:assert/strict";

/** How a batch process ended. */
export interface Ended {
  code: number;
  stderr: string;
  /** From the call to the exit. */
  ms: number;
}

/**
 * Waits for the child, failing the test past `limitMs` (and then killing it).
 *
 * @example
 * ```ts
 * const { code, stderr } = await endsWithin(child, 20_000);
 * ```
 */
export async function endsWithin(child: Deno.ChildProcess, limitMs: number): Promise<Ended> {
  const started = performance.now();
  const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
  const out = await child.output();
  clearTimeout(timer);
  const ms = performance.now() - started;
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(ms < limitMs, `ended after ${Math.round(ms)} ms, not within ${limitMs} ms:\n${stderr}`);
  return { code: out.code, stderr, ms };
}

/**
 * Asserts that every line of `stderr` is a JSON log line: no stack trace,
 * no runtime's own error report.
 *
 * @example
 * ```ts
 * assertLogLinesOnly(run.stderr);
 * ```
 */
export function assertLogLinesOnly(stderr: string): void {
  for (const line of stderr.split("\n").filter((l) => l.trim() !== "")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      assert.fail(`a line of stderr is not a JSON log line: ${line}\n---\n${stderr}`);
    }
    assert.equal(typeof (parsed as { msg?: unknown }).msg, "string", line);
  }
}
