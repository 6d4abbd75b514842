/**
 * A file's bytes, read into one buffer of the file's size. `Deno.readFile`
 * takes over twice as long for a large file (a model of hundreds of
 * megabytes): it copies what it read once more, touching twice the memory.
 *
 * @example
 * ```ts
 * const bytes = await readWholeFile("models/ride-duration-linreg/model.onnx");
 * ```
 */
export async function readWholeFile(path: string): Promise<Uint8Array<ArrayBuffer>> {
  const file = await Deno.open(path);
  try {
    const size = (await file.stat()).size;
    const buf = new Uint8Array(size);
    let at = 0;
    while (at < size) {
      const n = await file.read(buf.subarray(at));
      // Cut short while read: the bytes there are, copied into a buffer of their own size.
      if (n === null) return buf.slice(0, at);
      at += n;
    }
    // Grown while read, or of no size the kernel tells (a pipe, /proc): the rest from the same handle, which a second
    // open would not give (a pipe's bytes read are gone; a named pipe's second open waits for a writer).
    const more: Uint8Array[] = [];
    let total = size;
    for (;;) {
      const chunk = new Uint8Array(64 * 1024);
      const n = await file.read(chunk);
      if (n === null) break;
      more.push(chunk.subarray(0, n));
      total += n;
    }
    if (more.length === 0) return buf;
    const whole = new Uint8Array(total);
    whole.set(buf);
    let end = size;
    for (const chunk of more) {
      whole.set(chunk, end);
      end += chunk.length;
    }
    return whole;
  } finally {
    file.close();
  }
}
