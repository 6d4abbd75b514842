/**
 * The real servers the store tests talk to: s3rver (an S3-protocol server,
 * run in this process) and a small static HTTP server on 127.0.0.1.
 */
import S3rver from "s3rver";
import { AwsClient } from "aws4fetch";
import { createHash } from "node:crypto";

/** s3rver's built-in key pair. */
export const S3_KEY = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" };

/** A running s3rver with one bucket. */
export interface S3Server {
  endpoint: string;
  bucket: string;
  /** The variables that point score at it. */
  env: Record<string, string>;
  put(key: string, body: Uint8Array | string): Promise<void>;
  remove(key: string): Promise<void>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts s3rver on a free port with `bucket`, its files in a fresh folder
 * (removed on close) or in `dir` (the caller's); `port` restarts one on the
 * same port (a store that comes back).
 */
export async function startS3(bucket = "mlflow", options: { dir?: string; port?: number } = {}): Promise<S3Server> {
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "score-s3-" });
  const owned = options.dir === undefined;
  const server = new S3rver({
    port: options.port ?? 0,
    address: "127.0.0.1",
    directory: dir,
    silent: true,
    configureBuckets: [{ name: bucket }],
  } as never);
  const { port } = await server.run() as unknown as { port: number };
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new AwsClient({
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    service: "s3",
    region: "us-east-1",
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await server.close();
    if (owned) await Deno.remove(dir, { recursive: true });
  };
  return {
    endpoint,
    bucket,
    env: { ...S3_KEY, AWS_ENDPOINT_URL_S3: endpoint, AWS_REGION: "us-east-1" },
    async put(key, body) {
      const res = await client.fetch(`${endpoint}/${bucket}/${key}`, { method: "PUT", body: body as BodyInit });
      await res.body?.cancel();
      if (!res.ok) throw new Error(`PUT ${key}: ${res.status}`);
    },
    async remove(key) {
      const res = await client.fetch(`${endpoint}/${bucket}/${key}`, { method: "DELETE" });
      await res.body?.cancel();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A static HTTP server over a map of paths to bodies, counting requests. */
export interface HttpServer {
  url: string;
  files: Map<string, Uint8Array>;
  /** Requests per "METHOD /path". */
  hits: Map<string, number>;
  /** When set, every request waits for it before it is answered (a store that hangs). */
  stall?: Promise<void>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Serves `files` (path -> body) with a strong ETag (sha256) unless
 * `etag: false`; `auth` requires that basic-auth `user:password`.
 */
export function startHttp(options: { etag?: boolean; auth?: string } = {}): HttpServer {
  const files = new Map<string, Uint8Array>();
  const hits = new Map<string, number>();
  const state: { stall?: Promise<void> } = {};
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const key = `${req.method} ${path}`;
    hits.set(key, (hits.get(key) ?? 0) + 1);
    if (state.stall) await state.stall;
    if (options.auth !== undefined && req.headers.get("authorization") !== `Basic ${btoa(options.auth)}`) {
      return new Response("who are you?", { status: 401 });
    }
    const body = files.get(path);
    if (body === undefined) return new Response("not here", { status: 404 });
    const headers = new Headers({ "content-length": String(body.length) });
    if (options.etag !== false) headers.set("etag", `"${createHash("sha256").update(body).digest("hex")}"`);
    return new Response(req.method === "HEAD" ? null : body as BodyInit, { headers });
  });
  const close = () => server.shutdown();
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    files,
    hits,
    get stall() {
      return state.stall;
    },
    set stall(p) {
      state.stall = p;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
