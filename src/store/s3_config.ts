/**
 * Where and how to reach S3: the settings, read without loading the S3
 * client (aws4fetch, an XML parser), which only a model in S3 needs.
 */
/** Where and how to reach S3. */
export interface S3Config {
  /** A custom endpoint (MinIO, ...): path-style addressing. Unset: AWS, virtual-hosted style. */
  endpoint?: string;
  region: string;
  /** Unset: anonymous requests (a public bucket). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/**
 * The S3 settings from the standard variables: `AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`; `AWS_REGION`, else
 * `AWS_DEFAULT_REGION`, else us-east-1; the endpoint from
 * `AWS_ENDPOINT_URL_S3`, else `MLFLOW_S3_ENDPOINT_URL`, else `AWS_ENDPOINT_URL`.
 *
 * @example
 * ```ts
 * s3Config({ AWS_ENDPOINT_URL: "http://127.0.0.1:9000", AWS_ACCESS_KEY_ID: "k", AWS_SECRET_ACCESS_KEY: "s" });
 * ```
 */
export function s3Config(env: Record<string, string | undefined> = Deno.env.toObject()): S3Config {
  const set = (name: string) => (env[name] ?? "") !== "" ? env[name] : undefined;
  const endpoint = set("AWS_ENDPOINT_URL_S3") ?? set("MLFLOW_S3_ENDPOINT_URL") ?? set("AWS_ENDPOINT_URL");
  const region = set("AWS_REGION") ?? set("AWS_DEFAULT_REGION") ?? "us-east-1";
  const accessKeyId = set("AWS_ACCESS_KEY_ID");
  const secretAccessKey = set("AWS_SECRET_ACCESS_KEY");
  const credentials = accessKeyId !== undefined && secretAccessKey !== undefined
    ? { accessKeyId, secretAccessKey, sessionToken: set("AWS_SESSION_TOKEN") }
    : undefined;
  return { endpoint: endpoint?.replace(/\/+$/, ""), region, credentials };
}

/**
 * The URL of an object or of a bucket (`key` empty): path-style on a custom
 * endpoint, virtual-hosted on AWS.
 *
 * @example
 * ```ts
 * objectUrl({ endpoint: "http://127.0.0.1:9000", region: "us-east-1" }, "mlflow", "1/abc/MLmodel");
 * // "http://127.0.0.1:9000/mlflow/1/abc/MLmodel"
 * ```
 */
export function objectUrl(config: S3Config, bucket: string, key: string): string {
  const path = key.split("/").map(encodeURIComponent).join("/");
  if (config.endpoint !== undefined) return `${config.endpoint}/${encodeURIComponent(bucket)}/${path}`;
  return `https://${bucket}.s3.${config.region}.amazonaws.com/${path}`;
}
