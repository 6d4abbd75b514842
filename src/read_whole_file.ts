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
    // Grown while read: read again, the slow way, rather than miss its end.
    if ((await file.read(new Uint8Array(1))) !== null) return await Deno.readFile(path);
    return buf;
  } finally {
    file.close();
  }
}
