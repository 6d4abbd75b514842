/**
 * A gRPC client of the shipped proto for the tests (grpc-js, over real
 * HTTP/2): each call resolves with `{ code: "OK", response, headers }` or
 * `{ code: "NOT_FOUND", details }`, never throws, so tests compare codes.
 */
import * as grpc from "@grpc/grpc-js";
import * as loader from "@grpc/proto-loader";
import { PROTO_PATH } from "../../src/grpc/mod.ts";

/** What a call ended with. */
export interface Outcome {
  code: string;
  details?: string;
  response?: any;
  headers?: Record<string, string>;
}

/** Options of one call. */
export interface CallOptions {
  metadata?: Record<string, string>;
  /** Milliseconds from now. */
  deadlineMs?: number;
  /** Aborting it cancels the call. */
  signal?: AbortSignal;
}

const NAMES = Object.fromEntries(Object.entries(grpc.status).map(([k, v]) => [v, k]));

/** A client of `inference.GRPCInferenceService` at `target` (host:port); close it after. */
export function inferenceClient(target: string) {
  const definition = loader.loadSync(PROTO_PATH, { keepCase: true, longs: String, defaults: false, oneofs: true });
  const Service = (grpc.loadPackageDefinition(definition) as any).inference.GRPCInferenceService;
  const client = new Service(target, grpc.credentials.createInsecure(), {
    "grpc.max_send_message_length": -1,
    "grpc.max_receive_message_length": -1,
  });
  return {
    call(method: string, request: unknown, options: CallOptions = {}): Promise<Outcome> {
      const metadata = new grpc.Metadata();
      for (const [k, v] of Object.entries(options.metadata ?? {})) metadata.set(k, v);
      const callOptions = options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
      return new Promise((resolve) => {
        const headers: Record<string, string> = {};
        const call = client[method](request, metadata, callOptions, (err: grpc.ServiceError | null, response: any) => {
          if (err) resolve({ code: NAMES[err.code], details: err.details, headers });
          else resolve({ code: "OK", response, headers });
        });
        call.on("metadata", (md: grpc.Metadata) => {
          for (const [k, v] of Object.entries(md.getMap())) headers[k] = String(v);
        });
        options.signal?.addEventListener("abort", () => call.cancel(), { once: true });
      });
    },
    close: () => client.close(),
  };
}
