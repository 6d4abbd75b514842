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
  /** The response whose body is the file. */
  get(file: RemoteFile, signal: AbortSignal): Promise<Response>;
}

/** How long a store may take to answer a metadata request, or to send the next bytes of a file. */
export const STORE_TIMEOUT_MS = 30_000;

/** The signal of one metadata request: its timeout, or `cancel`. */
export function requestSignal(cancel?: AbortSignal): AbortSignal {
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
 * store being unavailable (exit 69), which lets a cached copy serve.
 */
export async function storeFetch(
  where: string,
  request: () => Promise<Response>,
  cancel?: AbortSignal,
): Promise<Response> {
  try {
    return await request();
  } catch (err) {
    if (cancel?.aborted) throw new UnavailableError(`Stopped while fetching ${where}`, { cause: err });
    const why = (err as Error).name === "TimeoutError" || (err as Error).name === "AbortError"
      ? `no answer within ${STORE_TIMEOUT_MS / 1000} s`
      : (err as Error).message;
    throw new UnavailableError(`Cannot reach the model store for ${where}: ${why}`, { cause: err });
  }
}

/** What a download wrote. */
export interface Downloaded {
  bytes: number;
  sha256: string;
}

/**
 * Streams `file` into `path`, hashing as it goes; checks the length and, for a
 * plain ETag (an MD5, as S3 gives for one-part uploads), the MD5. A stall
 * longer than {@linkcode STORE_TIMEOUT_MS} aborts it.
 */
export async function download(remote: Remote, file: RemoteFile, path: string): Promise<Downloaded> {
  const where = `${remote.where} (${file.name})`;
  const abort = new AbortController();
  let timer = setTimeout(() => abort.abort(), STORE_TIMEOUT_MS);
  const stop = () => abort.abort();
  remote.cancel?.addEventListener("abort", stop, { once: true });
  const sha256 = createHash("sha256");
  const md5 = createHash("md5");
  let bytes = 0;
  try {
    const res = await storeFetch(where, () => remote.get(file, abort.signal), remote.cancel);
    if (!res.ok || res.body === null) {
      await res.body?.cancel();
      throw storeError(res.status, where, "");
    }
    const out = await Deno.open(path, { write: true, createNew: true });
    try {
      for await (const chunk of res.body) {
        clearTimeout(timer);
        timer = setTimeout(() => abort.abort(), STORE_TIMEOUT_MS);
        sha256.update(chunk);
        md5.update(chunk);
        bytes += chunk.length;
        let written = 0;
        while (written < chunk.length) written += await out.write(chunk.subarray(written));
      }
      await out.sync();
    } catch (err) {
      if (err instanceof ScoreError) throw err;
      throw new UnavailableError(`Download of ${where} failed: ${(err as Error).message}`, { cause: err });
    } finally {
      out.close();
    }
  } finally {
    clearTimeout(timer);
    remote.cancel?.removeEventListener("abort", stop);
  }
  if (file.size !== undefined && bytes !== file.size) {
    throw new UnavailableError(`Download of ${where} is incomplete: ${bytes} of ${file.size} bytes`);
  }
  const md5Hex = md5.digest("hex");
  if (file.etag !== undefined && /^[0-9a-f]{32}$/.test(file.etag) && file.etag !== md5Hex) {
    throw new UnavailableError(`Download of ${where} is corrupt: MD5 ${md5Hex}, the store's ETag ${file.etag}`);
  }
  return { bytes, sha256: sha256.digest("hex") };
}

/** An ETag without its quotes and weak marker. */
export function cleanEtag(etag: string | null): string | undefined {
  if (etag === null || etag === "") return undefined;
  return etag.replace(/^W\//, "").replace(/^"|"$/g, "");
}
