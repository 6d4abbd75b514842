/**
 * Models in S3 or an S3-compatible store (MinIO, Ceph, s3rver): a directory
 * (every object directly under the prefix) or a single `.onnx` object.
 * Requests are signed by aws4fetch; the settings are the standard AWS and
 * MLflow environment variables.
 */
import { AwsClient } from "aws4fetch";
import { XMLParser } from "fast-xml-parser";
import { posix } from "node:path";
import { ModelError } from "../model/mod.ts";
import {
  boundedText,
  cleanEtag,
  headedFile,
  METADATA_MAX_BYTES,
  type Remote,
  type RemoteFile,
  storeError,
  storeRequest,
} from "./remote.ts";
import { objectUrl, type S3Config, s3Config } from "./s3_config.ts";

export { objectUrl, type S3Config, s3Config } from "./s3_config.ts";

const xml = new XMLParser({ parseTagValue: false, isArray: (name) => name === "Contents" });

/**
 * A model at `s3://bucket/key`: a key ending in `.onnx` is one object (with
 * the `model.json` beside it when it is a `model.onnx`); any other key is a
 * prefix whose objects are the model's files.
 */
export class S3Store implements Remote {
  readonly where: string;
  readonly #client?: AwsClient;
  readonly #files = new Map<string, string>();

  constructor(
    readonly bucket: string,
    readonly key: string,
    readonly config: S3Config = s3Config(),
    readonly cancel?: AbortSignal,
  ) {
    this.where = `s3://${bucket}/${key}`;
    if (config.credentials !== undefined) {
      // Retries are ours to bound: aws4fetch's default backs off for ~50 s on a failing store.
      this.#client = new AwsClient({ ...config.credentials, region: config.region, service: "s3", retries: 1 });
    }
  }

  async list(): Promise<RemoteFile[]> {
    if (this.key.endsWith(".onnx")) {
      const name = posix.basename(this.key);
      const files = [await this.#head(this.key, name, false)];
      if (name === "model.onnx") {
        const manifest = await this.#head(posix.join(posix.dirname(this.key), "model.json"), "model.json", true);
        if (manifest) files.push(manifest);
      }
      return files.filter((f): f is RemoteFile => f !== undefined);
    }
    const prefix = this.key.replace(/\/+$/, "") + "/";
    const files: RemoteFile[] = [];
    let token: string | undefined;
    do {
      const query = new URLSearchParams({ "list-type": "2", prefix, delimiter: "/" });
      if (token !== undefined) query.set("continuation-token", token);
      const res = await this.#request(`${objectUrl(this.config, this.bucket, "")}?${query}`, "GET");
      const body = await boundedText(res, this.where, METADATA_MAX_BYTES, this.cancel);
      if (!res.ok) throw storeError(res.status, this.where, s3Detail(body));
      const result = xml.parse(body).ListBucketResult ?? {};
      for (const o of result.Contents ?? []) {
        const name = String(o.Key).slice(prefix.length);
        if (name === "" || name.includes("/")) continue;
        this.#files.set(name, String(o.Key));
        files.push({ name, etag: cleanEtag(String(o.ETag ?? "")), size: Number(o.Size) });
      }
      token = result.IsTruncated === "true" ? String(result.NextContinuationToken) : undefined;
    } while (token !== undefined);
    if (files.length === 0) throw ModelError.notFound(`Model not found: no objects under ${this.where}/`);
    return files;
  }

  async beside(name: string): Promise<RemoteFile> {
    const folder = this.key.endsWith(".onnx") ? posix.dirname(this.key) : this.key.replace(/\/+$/, "");
    return (await this.#head(folder === "." ? name : `${folder}/${name}`, name, false))!;
  }

  get(file: RemoteFile, signal: AbortSignal): Promise<Response> {
    const key = this.#files.get(file.name) ?? file.name;
    const url = objectUrl(this.config, this.bucket, key);
    return this.#client ? this.#client.fetch(url, { signal }) : fetch(url, { signal });
  }

  async #head(key: string, name: string, optional: boolean): Promise<RemoteFile | undefined> {
    const res = await this.#request(objectUrl(this.config, this.bucket, key), "HEAD");
    if (res.status === 404 && optional) return undefined;
    if (!res.ok) {
      // A HEAD answer has no body: ask again with a GET for the store's error code.
      const detail = await this.#request(objectUrl(this.config, this.bucket, key), "GET")
        .then((r) => boundedText(r, this.where, METADATA_MAX_BYTES, this.cancel)).then(s3Detail, () => "");
      throw storeError(res.status, `s3://${this.bucket}/${key}`, detail);
    }
    this.#files.set(name, key);
    return headedFile(name, res);
  }

  #request(url: string, method: string): Promise<Response> {
    return storeRequest(
      this.where,
      this.cancel,
      (signal) => this.#client ? this.#client.fetch(url, { method, signal }) : fetch(url, { method, signal }),
    );
  }
}

/** The `Code: Message` of an S3 error body (it names nothing secret). */
function s3Detail(body: string): string {
  try {
    const error = xml.parse(body).Error;
    if (error?.Code) return error.Message ? `${error.Code}: ${error.Message}` : String(error.Code);
  } catch {
    // not XML: no detail
  }
  return "";
}
