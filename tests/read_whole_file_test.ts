import assert from "node:assert/strict";
import { join } from "node:path";
import { readWholeFile } from "../src/read_whole_file.ts";
import { tempDir } from "./helpers.ts";

Deno.test("readWholeFile reads every byte, into a buffer of the file's size", async (t) => {
  await using dir = await tempDir();
  const cases: [string, number][] = [["empty", 0], ["one byte", 1], ["4 MiB and 3 bytes", 4 * 1024 * 1024 + 3]];
  for (const [name, size] of cases) {
    await t.step(name, async () => {
      const path = join(dir.path, `${size}.bin`);
      const bytes = new Uint8Array(size).map((_, i) => (i * 7 + 3) & 255);
      await Deno.writeFile(path, bytes);
      const read = await readWholeFile(path);
      assert.deepEqual(read, bytes);
      assert.equal(read.buffer.byteLength, size);
    });
  }
  await t.step("a missing file fails as Deno.readFile does", async () => {
    await assert.rejects(() => readWholeFile(join(dir.path, "none")), Deno.errors.NotFound);
  });
  await t.step("a named pipe (no size) is read whole, its first byte too, from one open", async () => {
    const fifo = join(dir.path, "fifo");
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.ok(made.success);
    const text = "hello world ".repeat(10_000);
    // The writer opens, writes and closes; the read opens the pipe once and reads to its end.
    const writing = Deno.writeTextFile(fifo, text);
    const read = await readWholeFile(fifo);
    await writing;
    assert.equal(new TextDecoder().decode(read), text);
  });
  await t.step("a file whose size the kernel does not say (in /proc) is read to its end", async () => {
    const read = await readWholeFile("/proc/self/status");
    assert.match(new TextDecoder().decode(read), /^Name:/);
  });
});
