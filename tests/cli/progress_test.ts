import assert from "node:assert/strict";
import { startProgress } from "../../src/cli/progress.ts";
import { log } from "../../src/log.ts";
import { waitUntil } from "../helpers.ts";

Deno.test("progress lines off a terminal", async (t) => {
  await t.step("rows, rows/s, percent and ETA when the size is known", async () => {
    const lines: Record<string, unknown>[] = [];
    const progress = await startProgress("scoring", () => ({ done: 250, total: 1000 }), {
      interactive: false,
      intervalMs: 0,
      report: (f) => lines.push(f),
    });
    await new Promise((r) => setTimeout(r, 20));
    progress.update({ read: 2500, predicted: 2490, rejected: 10 });
    progress.stop();
    assert.equal(lines.length, 1);
    const [line] = lines;
    assert.deepEqual([line.read, line.predicted, line.rejected, line.percent], [2500, 2490, 10, 25]);
    assert.ok((line.rows_per_s as number) > 0);
    assert.ok((line.eta_s as number) >= 0);
  });
  await t.step("no percent or ETA when the size is unknown", async () => {
    const lines: Record<string, unknown>[] = [];
    const progress = await startProgress("scoring", () => undefined, {
      interactive: false,
      intervalMs: 0,
      report: (f) => lines.push(f),
    });
    progress.update({ read: 1, predicted: 1, rejected: 0 });
    progress.stop();
    assert.equal(lines.length, 1);
    assert.equal(lines[0].percent, undefined);
    assert.equal(lines[0].eta_s, undefined);
  });
  await t.step("at most one line per interval", async () => {
    const lines: Record<string, unknown>[] = [];
    const progress = await startProgress("scoring", () => undefined, {
      interactive: false,
      intervalMs: 60_000,
      report: (f) => lines.push(f),
    });
    for (let i = 0; i < 100; i++) progress.update({ read: i, predicted: i, rejected: 0 });
    progress.stop();
    assert.equal(lines.length, 0);
  });
});

/** A terminal for the bar: records what is written, escape codes included. */
function fakeTerminal() {
  let text = "";
  const stream = {
    isTTY: true,
    columns: 200,
    rows: 40,
    write(chunk: string | Uint8Array, ...rest: unknown[]) {
      text += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
      const done = rest.find((r) => typeof r === "function") as (() => void) | undefined;
      done?.();
      return true;
    },
    on: () => stream,
    once: () => stream,
    removeListener: () => stream,
    off: () => stream,
  };
  // What a terminal would show: text overwrites from the cursor; \r and CSI G move it to column 1 (clearing
  // nothing), CSI 0K clears to the end of the line, CSI 2K the whole line.
  // deno-lint-ignore no-control-regex -- terminal escape codes are what is parsed
  const PRIVATE = /\x1b\[\?[0-9;]*[a-z]/g;
  // deno-lint-ignore no-control-regex -- as above
  const TOKENS = /(\r|\n|\x1b\[[0-9;]*[A-Za-z])/;
  const screen = () => {
    const lines: string[] = [""];
    let col = 0;
    const plain = text.replace(PRIVATE, "");
    for (const part of plain.split(TOKENS)) {
      const at = lines.length - 1;
      if (part === "\n") [lines[lines.length], col] = ["", 0];
      else if (part === "\r" || (part.startsWith("\x1b[") && part.endsWith("G"))) col = 0;
      else if (part === "\x1b[0K" || part === "\x1b[K") lines[at] = lines[at].slice(0, col);
      else if (part === "\x1b[2K") lines[at] = "";
      else if (!part.startsWith("\x1b")) {
        lines[at] = lines[at].slice(0, col) + part + lines[at].slice(col + part.length);
        col += part.length;
      }
    }
    return lines;
  };
  return { stream: stream as unknown as NodeJS.WritableStream, screen, raw: () => text };
}

Deno.test("the progress bar on a terminal", async (t) => {
  await t.step("log lines go above the bar, whole; the bar stays the last line", async () => {
    const term = fakeTerminal();
    let done = 0;
    const progress = await startProgress("scoring", () => ({ done, total: 1000 }), {
      interactive: true,
      stream: term.stream,
    });
    done = 300;
    progress.update({ read: 3000, predicted: 3000, rejected: 0 });
    log.warn("row rejected", { row: 12, error: "a rather long message that must not be cut by the bar" });
    log.info("signal received: stopping");
    // At once: the process may exit right after a line (a second Ctrl-C).
    assert.match(term.raw(), /signal received: stopping/);
    const logged = term.raw().length;
    await waitUntil(() => term.raw().slice(logged).includes("scoring ["), "the bar redrawn below the log lines");
    progress.update({ read: 4000, predicted: 4000, rejected: 0 });
    progress.stop();
    const lines = term.screen().filter((l) => l !== "");
    const logs = lines.filter((l) => l.startsWith("{"));
    assert.equal(logs.length, 2, JSON.stringify(term.raw()));
    assert.match(JSON.parse(logs[0]).error, /must not be cut by the bar$/);
    assert.equal(JSON.parse(logs[1]).msg, "signal received: stopping");
    assert.match(lines.at(-1)!, /^scoring \[.*\] \d+\.\d% \| 4000 rows/, JSON.stringify(term.raw()));
    for (const l of lines) {
      assert.ok(!/\{"time".*scoring|rejected.*\{"time"/.test(l), `a log line mixed with the bar: ${l}`);
    }
  });
  await t.step("logs written after stop go to stderr again", async () => {
    const term = fakeTerminal();
    const progress = await startProgress("scoring", () => undefined, { interactive: true, stream: term.stream });
    progress.stop();
    const before = term.raw();
    log.debug("after the bar");
    assert.equal(term.raw(), before);
  });
  await t.step("the percentage stays below 100% until the end, and reaches it then", async () => {
    const term = fakeTerminal();
    let done = 0;
    const progress = await startProgress("scoring", () => ({ done, total: 1000 }), {
      interactive: true,
      stream: term.stream,
    });
    done = 1000; // read to the end, but not yet written
    progress.update({ read: 10, predicted: 10, rejected: 0 });
    await waitUntil(() => /99\.9%/.test(term.raw()), "a redraw with the file read to the end");
    const during = term.raw();
    assert.doesNotMatch(during, /100\.0%/);
    assert.match(during, /99\.9%/);
    progress.stop();
    assert.match(term.raw().slice(during.length), /100\.0%/);
  });
  await t.step("no percentage nor ETA when the size is not known", async () => {
    const term = fakeTerminal();
    const progress = await startProgress("scoring", () => undefined, { interactive: true, stream: term.stream });
    progress.update({ read: 10, predicted: 10, rejected: 0 });
    progress.stop();
    assert.doesNotMatch(term.raw(), /%|ETA/);
    assert.match(term.raw(), /scoring \| 10 rows/);
  });
  await t.step("no ETA before the first 1% took a second", async () => {
    const term = fakeTerminal();
    const progress = await startProgress("scoring", () => ({ done: 500, total: 1000 }), {
      interactive: true,
      stream: term.stream,
    });
    progress.update({ read: 10, predicted: 10, rejected: 0 });
    progress.stop();
    assert.doesNotMatch(term.raw(), /ETA/);
  });
});
