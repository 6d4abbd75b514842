/**
 * The one file that touches `@grpc/grpc-js` and `@grpc/proto-loader`: it
 * loads the shipped `grpc_predict_v2.proto`, listens, and turns each unary
 * call into a plain async function of the decoded message, so the rest of
 * `src/grpc/` knows nothing of the library. Pinned by
 * tests/grpc/grpc_js_test.ts (int64 as exact text, bytes as Buffers,
 * cancellation and deadlines seen by the handler, trailers-only errors).
 *
 * grpc-js runs over Deno's node:http2; `Deno.serve` cannot send trailers.
 * Each HTTP/2 session's destroy() is deferred to its own macrotask
 * ({@linkcode deferSessionDestroy}), pinned by tests/grpc/grpc_js_goaway_test.ts.
 */
import * as grpc from "@grpc/grpc-js";
import * as loader from "@grpc/proto-loader";
import { setImmediate } from "node:timers";
import { fileURLToPath } from "node:url";

/** How early a cancel may come before the server-side deadline and still count as the deadline. */
const DEADLINE_SLACK_MS = 100;
/** The proto shipped with score: the Open Inference Protocol's gRPC service. */
export const PROTO_PATH = fileURLToPath(new URL("./grpc_predict_v2.proto", import.meta.url));

/** gRPC status codes by name (the numbers every gRPC library shares). */
export const STATUS = grpc.status;

/** What a handler may ask of its call. */
export interface UnaryCall {
  /** The first value of a metadata key (lower case), e.g. `authorization`. */
  metadata(key: string): string | undefined;
  /** Aborted when the client cancels or the deadline passes. */
  signal: AbortSignal;
  /** Whether the call's deadline has passed (a deadline, not the client, ended it). */
  deadlineExceeded(): boolean;
  /** Sends a header in the response's initial metadata (call before the handler resolves). */
  setHeader(key: string, value: string): void;
}

/** A unary handler: the decoded request message in, the response message out (or a thrown {@linkcode GrpcError}). */
export type UnaryHandler = (request: any, call: UnaryCall) => Promise<unknown>;

/** A failure answered with a gRPC status. */
export class GrpcError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** How the listener is bound. */
export interface GrpcListenOptions {
  hostname: string;
  /** 0: any free port. */
  port: number;
  /** Largest request message accepted (larger: RESOURCE_EXHAUSTED before any handler runs). */
  maxMessageBytes: number;
}

/** A listening gRPC server. */
export interface GrpcListener {
  hostname: string;
  port: number;
  /** Refuses new calls at once and resolves when the calls in flight are answered. */
  shutdown(): Promise<void>;
  /** Ends every call now (after a shutdown timed out). */
  close(): void;
}

let service: grpc.ServiceDefinition | undefined;

/** The service definition, loaded once: int64 as decimal text (exact), enums as names, no default fill. */
function inferenceService(): grpc.ServiceDefinition {
  service ??= (grpc.loadPackageDefinition(
    loader.loadSync(PROTO_PATH, { keepCase: true, longs: String, enums: String, defaults: false, oneofs: true }),
  ) as unknown as { inference: { GRPCInferenceService: { service: grpc.ServiceDefinition } } }).inference
    .GRPCInferenceService.service;
  return service;
}

/** The service's method names, in the proto's order. */
export function methodNames(): string[] {
  return Object.keys(inferenceService());
}

/**
 * Serves `inference.GRPCInferenceService` with these handlers (by method
 * name; a method without one answers UNIMPLEMENTED).
 *
 * @example
 * ```ts
 * const server = await listenGrpc({ ServerLive: async () => ({ live: true }) }, { hostname: "127.0.0.1", port: 0, maxMessageBytes: 4 << 20 });
 * await server.shutdown();
 * ```
 */
export async function listenGrpc(
  handlers: Record<string, UnaryHandler>,
  options: GrpcListenOptions,
): Promise<GrpcListener> {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": options.maxMessageBytes,
    "grpc.max_send_message_length": -1,
  });
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(handlers)) implementation[name] = unary(handler);
  server.addService(inferenceService(), implementation);
  const host = options.hostname.includes(":") ? `[${options.hostname}]` : options.hostname;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `${host}:${options.port}`,
      grpc.ServerCredentials.createInsecure(),
      (err, bound) => err ? reject(addressError(err)) : resolve(bound),
    )
  );
  deferSessionDestroy(server);
  return {
    hostname: options.hostname,
    port,
    shutdown: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
    close: () => server.forceShutdown(),
  };
}

/**
 * Works around Deno 2.9.6's node:http2 (denoland/deno#36788): its native
 * session destroy frees the nghttp2 session at once, even when it is called
 * from a callback that nghttp2 runs while it is still processing a received
 * frame. A client's GOAWAY does exactly that: node:http2 answers it with
 * close() from inside the GOAWAY callback, which destroys a session with no
 * open streams there and then; nghttp2 then walks the freed session (to close
 * the streams the GOAWAY refused) and the whole process aborts (an nghttp2
 * assertion, `free(): invalid pointer`, or a segfault). nghttp2 processes
 * received bytes synchronously, so a destroy run from a later macrotask never
 * lands inside it. grpc-js keeps its HTTP/2 servers in a private map: if that
 * changes, listening fails loudly here rather than the server aborting later.
 */
function deferSessionDestroy(server: grpc.Server): void {
  const http2Servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(http2Servers instanceof Map)) {
    throw new Error("grpc-js no longer keeps its HTTP/2 servers in `http2Servers`: see deferSessionDestroy");
  }
  for (const http2Server of http2Servers.keys()) {
    http2Server.on("session", (session: { destroy: (...args: unknown[]) => void }) => {
      const destroy = session.destroy;
      session.destroy = function (this: unknown, ...args: unknown[]) {
        setImmediate(() => destroy.apply(this, args));
      };
    });
  }
}

/** grpc-js says "No address added out of total 1 resolved" for a port in use: kept, with the code callers test. */
function addressError(err: Error): Error {
  if (/EADDRINUSE|address already in use|No address added/i.test(err.message)) {
    return Object.assign(err, { code: "EADDRINUSE" });
  }
  return err;
}

function unary(handler: UnaryHandler): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    const controller = new AbortController();
    // grpc-js under Deno says "cancelled" when the stream closes after most answers too: an abort then tells nobody
    // (the handler is done) and would build a DOMException, stack trace and all, per call.
    let answered = false;
    call.on("cancelled", () => {
      if (!answered) controller.abort();
    });
    let header: grpc.Metadata | undefined;
    const api: UnaryCall = {
      metadata: (key) => {
        const v = call.metadata.get(key)[0];
        return v === undefined ? undefined : typeof v === "string" ? v : v.toString("utf8");
      },
      signal: controller.signal,
      deadlineExceeded: () => {
        const deadline = call.getDeadline();
        const ms = deadline instanceof Date ? deadline.getTime() : deadline;
        // The server's deadline starts when the headers are read, later than the client's: the client's own cancel at
        // its deadline (RST_STREAM) can arrive just before ours passes, and is still the deadline.
        return Number.isFinite(ms) && ms <= Date.now() + DEADLINE_SLACK_MS;
      },
      setHeader: (key, value) => {
        header ??= new grpc.Metadata();
        header.set(key, value);
      },
    };
    handler(call.request, api).then(
      (value) => {
        answered = true;
        if (header !== undefined) call.sendMetadata(header);
        callback(null, value);
      },
      (err) => {
        answered = true;
        if (header !== undefined) call.sendMetadata(header);
        const code = err instanceof GrpcError ? err.code : grpc.status.INTERNAL;
        callback({ code, details: (err as Error).message, metadata: new grpc.Metadata() } as grpc.ServiceError);
      },
    );
  };
}
