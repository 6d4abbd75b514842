/**
 * Reads a request body as JSON within a byte limit: a declared
 * `Content-Length` over the limit is refused before reading, a chunked body
 * is counted as it streams, so an oversized body is never held in memory.
 * Integers beyond 2^53 are read exactly (see `src/value_codec.ts`).
 */
import { strictUtf8 } from "../strict_utf8.ts";
import { ClientClosedError, InputError } from "../errors.ts";
import { parseJson } from "../value_codec.ts";

/** The largest body accepted, and the setting that raises it (named in the 413's message). */
export interface BodyLimit {
  maxBytes: number;
  limitName?: string;
}

/**
 * The parsed JSON body. Throws a 413 `InputError` past `limit.maxBytes`
 * (naming `limit.limitName`, the setting that raises it, when given) and a
 * 400 `InputError` for a body that is not JSON.
 *
 * @example
 * ```ts
 * const body = await readJson(c.req.raw, { maxBytes: 1_048_576, limitName: "--max-body-bytes" });
 * ```
 */
export async function readJson(req: Request, limit: BodyLimit): Promise<unknown> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > limit.maxBytes) throw tooLarge(limit);
  let bytes: Uint8Array;
  try {
    bytes = declared !== null ? await req.bytes() : await readCounted(req, limit);
  } catch (err) {
    if (err instanceof InputError) throw err;
    // The body stopped coming: the client hung up (or was cut off for being too slow).
    throw new ClientClosedError(`The client closed the connection before the request body arrived whole`, {
      cause: err,
    });
  }
  if (bytes.length > limit.maxBytes) throw tooLarge(limit);
  let text: string;
  try {
    text = UTF8(bytes);
  } catch {
    // Decoded leniently, the text would be scored with U+FFFD in place of what was sent.
    throw new InputError("The request body is not UTF-8 text", { status: 400, code: "malformed_json" });
  }
  if (text.trim() === "") {
    throw new InputError("The request body is empty; send a JSON document", { status: 400, code: "bad_request" });
  }
  try {
    return parseJson(text);
  } catch (err) {
    throw new InputError(`The request body is not valid JSON: ${(err as Error).message}`, {
      status: 400,
      code: "malformed_json",
    });
  }
}

const UTF8 = strictUtf8();

async function readCounted(req: Request, limit: BodyLimit): Promise<Uint8Array> {
  if (req.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit.maxBytes) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return all;
}

function tooLarge({ maxBytes, limitName }: BodyLimit): InputError {
  const setting = limitName === undefined ? "" : ` (${limitName})`;
  return new InputError(`The request body is larger than ${maxBytes} bytes${setting}`, {
    status: 413,
    code: "body_too_large",
  });
}
