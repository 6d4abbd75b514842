/**
 * What the S3 and HTTP stores share: the shape of a model's remote files,
 * the mapping of a store's answers to our errors, and the download of one
 * file to disk, verified as it streams.
 */
import { createHash } from "node:crypto";
import { AuthError, ScoreError, UnavailableError } from "../errors.ts";
import { ModelError } from "../model/mod.ts";

/** One file of a model in a store. */
export interface RemoteFile {
  /** Its name in the model's directory (no slash). */
  name: string;
  /** The store's ETag, quotes removed, when it gives one. */
  etag?: string;
  /** Its size in bytes, when the store tells. */
  size?: number;
}

/** A model's files in a store. */
export interface Remote {
  /** The model's location, safe for a log line. */
  readonly where: string;
  /** Aborts every request in progress (a reload stopped by SIGTERM). */
  readonly cancel?: AbortSignal;
  /** The files to fetch; the optional ones (a `model.json` beside) only when present. */
  list(): Promise<RemoteFile[]>;
  /**
   * A file the listing did not give, by its path relative to the model's folder (an external data file its graph
   * names): its length and ETag, or a not-found error naming it.
   */
  beside(name: string): Promise<RemoteFile>;
  /** The response whose body is the file. */
  get(file: RemoteFile, signal: AbortSignal): Promise<Response>;
}

/** How long a store may take to answer a metadata request, or to send the next bytes of a file. */
export const STORE_TIMEOUT_MS = 30_000;

/** The signal of one metadata request: its timeout, or `cancel`. */
function requestSignal(cancel?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(STORE_TIMEOUT_MS);
  return cancel === undefined ? timeout : AbortSignal.any([timeout, cancel]);
}

/**
 * Maps a store's answer that is not a success to our errors: 404 is not
 * found (exit 66), 401/403 refused credentials (77), anything else the
 * store being unavailable (69). `detail` is the store's own error code and
 * message, never a header or a credential.
 *
 * @example
 * ```ts
 * if (!res.ok) throw storeError(res.status, "s3://models/m.onnx", "NoSuchKey");
 * ```
 */
export function storeError(status: number, where: string, detail: string): ScoreError | ModelError {
  const why = detail ? ` (${status} ${detail})` : ` (${status})`;
  if (status === 404) return ModelError.notFound(`Model not found: ${where} does not exist${why}`);
  if (status === 401 || status === 403) {
    return new AuthError(`The model store refused access to ${where}${why}: check its credentials`);
  }
  return new UnavailableError(`The model store failed to answer for ${where}${why}`);
}

/**
 * Runs one request to a store: a network failure or a timeout becomes the
 * store being unavailable (exit 69), which lets a cached copy serve. When
 * `cancel` was aborted with a {@linkcode ScoreError} (the overall deadline),
 * that error is thrown.
 */
export async function storeFetch(
  where: string,
  request: () => Promise<Response>,
  cancel?: AbortSignal,
): Promise<Response> {
  try {
    return await request();
  } catch (err) {
    throw failure(err, where, cancel, (why) => `Cannot reach the model store for ${where}: ${why}`);
  }
}

/**
 * Runs one metadata request to a store (see {@linkcode storeFetch}), bounded by {@linkcode STORE_TIMEOUT_MS} and
 * `cancel`: `send` makes the request with the signal it is given.
 *
 * @example
 * ```ts
 * const res = await storeRequest("https://host/m.onnx", cancel, (signal) => fetch(url, { method: "HEAD", signal }));
 * ```
 */
export function storeRequest(
  where: string,
  cancel: AbortSignal | undefined,
  send: (signal: AbortSignal) => Promise<Response>,
): Promise<Response> {
  const signal = requestSignal(cancel);
  return storeFetch(where, () => send(signal), cancel);
}

/**
 * The file a store's answer to a HEAD describes: its ETag and, when given, its length.
 *
 * @example
 * ```ts
 * headedFile("model.onnx", res); // { name: "model.onnx", etag: "9e10...", size: 1234 }
 * ```
 */
export function headedFile(name: string, res: Response): RemoteFile {
  const size = res.headers.get("content-length");
  return { name, etag: cleanEtag(res.headers.get("etag")), size: size === null ? undefined : Number(size) };
}

/** What a download wrote. */
export interface Downloaded {
  bytes: number;
  sha256: string;
}

/**
 * Streams `file` into `path`, hashing as it goes; checks the length and, for a
 * plain ETag (an MD5, as S3 gives for one-part uploads), the MD5. A stall
 * longer than {@linkcode STORE_TIMEOUT_MS} aborts it, and so does a body that
 * takes the model past `maxBytes` (`before` are its other files' bytes) or
 * passes the length the store listed, as soon as it does. On any failure
 * the partial file is removed.
 *
 * @example
 * ```ts
 * const { sha256 } = await download(remote, { name: "model.onnx", size: 1234 }, "/tmp/dl/model.onnx", 2 ** 31);
 * ```
 */
export async function download(
  remote: Remote,
  file: RemoteFile,
  path: string,
  maxBytes: number,
  before = 0,
): Promise<Downloaded> {
  const where = `${remote.where} (${file.name})`;
  if (file.size !== undefined && before + file.size > maxBytes) throw tooLarge(where, before + file.size, maxBytes);
  const abort = new AbortController();
  const stalled = () =>
    abort.abort(new UnavailableError(`Download of ${where} stalled: no bytes for ${STORE_TIMEOUT_MS / 1000} s`));
  let timer = setTimeout(stalled, STORE_TIMEOUT_MS);
  const signal = remote.cancel === undefined ? abort.signal : AbortSignal.any([abort.signal, remote.cancel]);
  const sha256 = createHash("sha256");
  const md5 = createHash("md5");
  let bytes = 0;
  let out: Deno.FsFile | undefined;
  try {
    const res = await storeFetch(where, () => remote.get(file, signal), signal);
    if (!res.ok || res.body === null) {
      await res.body?.cancel();
      throw storeError(res.status, where, "");
    }
    // The file changed between the listing and this download: its bytes would be kept under the ETag listed, and a
    // later listing of that ETag (a rollback) would serve them. Refused; the next try lists it again.
    const etag = cleanEtag(res.headers.get("etag"));
    if (file.etag !== undefined && etag !== undefined && etag !== file.etag) {
      await res.body.cancel();
      throw new UnavailableError(
        `${where} changed while it was being fetched (ETag ${file.etag} listed, ${etag} sent); try again`,
      );
    }
    const announced = Number(res.headers.get("content-length") ?? NaN);
    if (before + announced > maxBytes) {
      await res.body.cancel();
      throw tooLarge(where, before + announced, maxBytes);
    }
    // The most this body may hold: what the listing said, else what the bound leaves.
    const limit = file.size ?? maxBytes - before;
    out = await Deno.open(path, { write: true, createNew: true });
    try {
      for await (const chunk of res.body) {
        clearTimeout(timer);
        timer = setTimeout(stalled, STORE_TIMEOUT_MS);
        bytes += chunk.length;
        if (bytes > limit) {
          throw file.size === undefined ? tooLarge(where, before + bytes, maxBytes) : new UnavailableError(
            `Download of ${where} is corrupt: the store sent more than the ${limit} bytes it listed`,
          );
        }
        sha256.update(chunk);
        md5.update(chunk);
        let written = 0;
        while (written < chunk.length) written += await out.write(chunk.subarray(written));
      }
      await out.sync();
    } catch (err) {
      if (err instanceof ScoreError) throw err;
      throw failure(err, where, signal, (why) => `Download of ${where} failed: ${why}`);
    }
  } catch (err) {
    out?.close();
    out = undefined;
    await Deno.remove(path).catch(() => {});
    throw err;
  } finally {
    out?.close();
    clearTimeout(timer);
  }
  if (file.size !== undefined && bytes !== file.size) {
    await Deno.remove(path).catch(() => {});
    throw new UnavailableError(`Download of ${where} is incomplete: ${bytes} of ${file.size} bytes`);
  }
  const md5Hex = md5.digest("hex");
  if (file.etag !== undefined && /^[0-9a-f]{32}$/.test(file.etag) && file.etag !== md5Hex) {
    await Deno.remove(path).catch(() => {});
    throw new UnavailableError(`Download of ${where} is corrupt: MD5 ${md5Hex}, the store's ETag ${file.etag}`);
  }
  return { bytes, sha256: sha256.digest("hex") };
}

/**
 * Reads a small response body (an MLmodel, a listing, an error) whole, up
 * to `maxBytes`: a store that sends more is refused, not read into memory.
 *
 * @example
 * ```ts
 * const text = await boundedText(res, "https://host/run/MLmodel", METADATA_MAX_BYTES);
 * ```
 */
export async function boundedText(
  res: Response,
  where: string,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<string> {
  if (res.body === null) return "";
  const parts: Uint8Array[] = [];
  let bytes = 0;
  try {
    for await (const chunk of res.body) {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        // Leaving the loop cancels the body.
        throw new UnavailableError(`The model store sent more than ${maxBytes} bytes for ${where}, too many for it`);
      }
      parts.push(chunk);
    }
  } catch (err) {
    if (err instanceof ScoreError) throw err;
    throw failure(err, where, signal, (why) => `Cannot read ${where} from the model store: ${why}`);
  }
  const all = new Uint8Array(bytes);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return new TextDecoder().decode(all);
}

/** The most a metadata body (an MLmodel, a page of a listing, an error) may hold. */
export const METADATA_MAX_BYTES = 8 << 20;

function tooLarge(where: string, bytes: number, maxBytes: number): ModelError {
  return ModelError.badModel(
    `The model at ${where} is larger than the ${maxBytes} bytes allowed (it has at least ${bytes}): ` +
      `raise --model-max-bytes (SCORE_MODEL_MAX_BYTES) to take it`,
  );
}

/**
 * The error for a request or body that failed: `signal`'s own reason when
 * it was aborted with one of ours (the deadline, a stall), "stopped" when
 * cancelled, else the store being unreachable.
 */
function failure(err: unknown, where: string, signal: AbortSignal | undefined, say: (why: string) => string) {
  if (signal?.aborted) {
    if (signal.reason instanceof ScoreError) return signal.reason;
    return new UnavailableError(`Stopped while fetching ${where}`, { cause: err });
  }
  const why = (err as Error).name === "TimeoutError" || (err as Error).name === "AbortError"
    ? `no answer within ${STORE_TIMEOUT_MS / 1000} s`
    : (err as Error).message;
  return new UnavailableError(say(why), { cause: err });
}

/** An ETag without its quotes and weak marker. */
export function cleanEtag(etag: string | null): string | undefined {
  if (etag === null || etag === "") return undefined;
  return etag.replace(/^W\//, "").replace(/^"|"$/g, "");
}
