/**
 * Models on a web server: `https://host/path/model.onnx` (with the
 * `model.json` beside it when there is one), or a directory URL ending in
 * `/` that holds an MLflow model (`MLmodel` and the ONNX file it names) or
 * a `model.onnx`.
 */
import { posix } from "node:path";
import { redact } from "../log.ts";
import { parseMlmodel } from "./mlflow_model.ts";
import {
  boundedText,
  headedFile,
  METADATA_MAX_BYTES,
  type Remote,
  type RemoteFile,
  storeError,
  storeRequest,
} from "./remote.ts";

/**
 * A model behind `url`. Credentials in the URL (`https://user:pass@host/`)
 * are sent as HTTP basic auth and never logged.
 *
 * @example
 * ```ts
 * const files = await new HttpStore(new URL("https://models.example.com/rf/model.onnx")).list();
 * ```
 */
export class HttpStore implements Remote {
  readonly where: string;
  readonly #base: URL;
  readonly #headers: Headers;

  constructor(url: URL, readonly cancel?: AbortSignal) {
    this.#base = new URL(url);
    this.#headers = new Headers();
    if (url.username !== "" || url.password !== "") {
      const user = decodeURIComponent(url.username);
      const pass = decodeURIComponent(url.password);
      this.#headers.set("authorization", `Basic ${btoa(`${user}:${pass}`)}`);
      this.#base.username = "";
      this.#base.password = "";
    }
    this.where = redact(url.href);
  }

  async list(): Promise<RemoteFile[]> {
    const name = posix.basename(this.#base.pathname);
    if (!this.#base.pathname.endsWith("/")) {
      const files = [await this.#head(name, false)];
      if (name === "model.onnx") files.push(await this.#head("model.json", true));
      return files.filter((f): f is RemoteFile => f !== undefined);
    }
    const mlmodel = await this.#head("MLmodel", true);
    let files: (RemoteFile | undefined)[];
    if (mlmodel !== undefined) {
      const res = await this.#fetch("MLmodel", "GET");
      if (!res.ok) {
        await res.body?.cancel();
        throw storeError(res.status, redact(this.#url("MLmodel").href), "");
      }
      const text = await boundedText(res, redact(this.#url("MLmodel").href), METADATA_MAX_BYTES, this.cancel);
      const { onnxFile } = parseMlmodel(text, redact(this.#url("MLmodel").href));
      files = [mlmodel, await this.#head(onnxFile, false)];
    } else files = [await this.#head("model.onnx", false)];
    files.push(await this.#head("model.json", true));
    return files.filter((f): f is RemoteFile => f !== undefined);
  }

  async beside(name: string): Promise<RemoteFile> {
    return (await this.#head(name, false))!;
  }

  get(file: RemoteFile, signal: AbortSignal): Promise<Response> {
    return fetch(this.#url(file.name), { headers: this.#headers, signal });
  }

  async #head(name: string, optional: boolean): Promise<RemoteFile | undefined> {
    const res = await this.#fetch(name, "HEAD");
    if (res.status === 404 && optional) return undefined;
    if (!res.ok) throw storeError(res.status, redact(this.#url(name).href), res.statusText);
    return headedFile(name, res);
  }

  #fetch(name: string, method: string): Promise<Response> {
    return storeRequest(
      this.where,
      this.cancel,
      (signal) => fetch(this.#url(name), { method, headers: this.#headers, signal }),
    );
  }

  /** The URL of a file beside (or, for a directory URL, inside) the model's. */
  #url(name: string): URL {
    // The model's own file keeps its URL whole: a presigned URL's query is its credential.
    if (!this.#base.pathname.endsWith("/") && name === posix.basename(this.#base.pathname)) return this.#base;
    return new URL(name.split("/").map(encodeURIComponent).join("/"), this.#base);
  }
}
