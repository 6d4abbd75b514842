/**
 * The sha256 of a buffer, in hex, computed once per buffer: the model store
 * hashes a model's files for its tag, and the load hashes the same buffers
 * for the model's version. The buffer must not change once hashed (a file's
 * bytes as read, never written to).
 *
 * @example
 * ```ts
 * sha256Hex(new TextEncoder().encode("abc")); // "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
 * ```
 */
import { createHash } from "node:crypto";

const known = new WeakMap<Uint8Array, string>();

export function sha256Hex(bytes: Uint8Array): string {
  let hex = known.get(bytes);
  if (hex === undefined) {
    hex = createHash("sha256").update(bytes).digest("hex");
    known.set(bytes, hex);
  }
  return hex;
}
