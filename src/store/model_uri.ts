/**
 * What `--model` names: a local path, or a URI of a store that holds the
 * model (`s3://`, `http(s)://`, `file://`), with optional fragment
 * parameters `#name=<name>&sha256=<hex>`.
 */
import { fileURLToPath } from "node:url";
import { UsageError } from "../errors.ts";
import { redact } from "../log.ts";

/** Where a model lives, parsed. */
export type ModelUri =
  | { kind: "local"; path: string; name?: string; sha256?: string; text: string }
  | { kind: "s3"; bucket: string; key: string; name?: string; sha256?: string; text: string }
  | { kind: "http"; url: URL; name?: string; sha256?: string; text: string };

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Parses a `--model` value. A value without a scheme is a local path, kept
 * as given; `text` is the value with any secret hidden, for logs and messages.
 *
 * @example
 * ```ts
 * parseModelUri("s3://mlflow/1/e1efc53e/artifacts/model#name=ride-duration");
 * // { kind: "s3", bucket: "mlflow", key: "1/e1efc53e/artifacts/model", name: "ride-duration", ... }
 * ```
 */
export function parseModelUri(value: string): ModelUri {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined || !value.includes(":/")) return { kind: "local", path: value, text: value };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--model "${redact(value)}" is not a valid URI`);
  }
  const { name, sha256 } = fragment(url, value);
  url.hash = "";
  const text = redact(value);
  switch (scheme) {
    case "file": {
      let path: string;
      try {
        path = fileURLToPath(url);
      } catch (err) {
        throw new UsageError(`--model "${text}": ${(err as Error).message} (write file:///absolute/path)`);
      }
      return { kind: "local", path, name, sha256, text };
    }
    case "s3": {
      const key = decodeURIComponent(url.pathname.replace(/^\/+/, ""));
      if (url.hostname === "" || key === "") {
        throw new UsageError(`--model "${text}": an S3 URI is s3://<bucket>/<prefix or key>`);
      }
      return { kind: "s3", bucket: url.hostname, key, name, sha256, text };
    }
    case "http":
    case "https":
      return { kind: "http", url, name, sha256, text };
    case "runs":
    case "models":
      throw new UsageError(
        `--model "${text}": ${scheme}:/ URIs need an MLflow tracking server; give the run's artifact URI instead ` +
          `(e.g. s3://<bucket>/<experiment>/<run id>/artifacts/model)`,
      );
    default:
      throw new UsageError(
        `--model "${text}": unsupported scheme "${scheme}:" (use a path, file://, s3://, http(s)://)`,
      );
  }
}

function fragment(url: URL, value: string): { name?: string; sha256?: string } {
  if (url.hash === "") return {};
  const params = new URLSearchParams(url.hash.slice(1));
  const out: { name?: string; sha256?: string } = {};
  for (const [k, v] of params) {
    if (k === "name" && v !== "") out.name = v;
    else if (k === "sha256" && SHA256.test(v.toLowerCase())) out.sha256 = v.toLowerCase();
    else {
      throw new UsageError(
        `--model "${redact(value)}": unknown fragment "${k}=${v}" (use #name=<name> and/or #sha256=<64 hex digits>)`,
      );
    }
  }
  return out;
}
