/**
 * Writes every byte of a buffer: a file write may be partial.
 *
 * @example
 * ```ts
 * await writeAll(Deno.stdout, new TextEncoder().encode("done\n"));
 * ```
 */
export async function writeAll(file: { write(p: Uint8Array): Promise<number> }, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await file.write(bytes.subarray(done));
}
