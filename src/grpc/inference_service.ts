/**
 * `inference.GRPCInferenceService` over the data plane: the six calls of
 * the Open Inference Protocol's gRPC API, each wrapped in the request
 * envelope REST uses (request id, metrics with `protocol="grpc"`, the access
 * log, the failure read the same way) and answered with the gRPC code of
 * `status.ts`'s table. The API key comes from the `authorization` metadata
 * (`Bearer <key>`), checked as REST checks its header; ServerLive and
 * ServerReady need none, like REST's `/v2/health/*`.
 */
import { ClientClosedError } from "../errors.ts";
import type { DataPlane } from "../serving/data_plane.ts";
import type { RequestEnvelope } from "../serving/envelope.ts";
import { GrpcError, STATUS, type UnaryCall, type UnaryHandler } from "./grpc_js.ts";
import { decodeInferRequest, encodeInferResponse, type InferRequestMessage, isRaw } from "./infer_codec.ts";
import { codeName, grpcCode } from "./status.ts";

/** How the service checks callers. */
export interface InferenceServiceOptions {
  /** Throws an `AuthError` unless the `authorization` value carries the key (see `src/http/bearer_token.ts`). */
  checkKey?: (authorization: string | undefined) => void;
}

/** The full name of each method, as metrics and the access log give the route. */
const ROUTE = "/inference.GRPCInferenceService/";

/** What a call's body needs: the call, and the labels it sets for the envelope. */
interface Labels {
  model: string;
  version: string;
}

/**
 * The handlers of the six calls, by method name, for `listenGrpc`.
 *
 * @example
 * ```ts
 * const server = await listenGrpc(inferenceService(plane, envelope, { checkKey }), { hostname, port, maxMessageBytes });
 * ```
 */
export function inferenceService(
  plane: DataPlane,
  envelope: RequestEnvelope,
  options: InferenceServiceOptions = {},
): Record<string, UnaryHandler> {
  const { checkKey } = options;
  /** The envelope around one call's body. */
  const wrap = (
    method: string,
    open: boolean,
    body: (request: any, labels: Labels, requestId: string, call: UnaryCall) => Promise<unknown>,
  ): UnaryHandler =>
  async (request, call) => {
    const start = performance.now();
    const requestId = envelope.start(call.metadata("x-request-id"));
    call.setHeader("x-request-id", requestId);
    const labels: Labels = { model: "", version: "" };
    let status = "OK";
    let code: string | undefined;
    try {
      if (checkKey !== undefined && !open) checkKey(call.metadata("authorization"));
      const out = await body(request, labels, requestId, call);
      // The answer is dropped when nobody waits for it: counted as the client's leaving, not as an answer.
      if (call.signal.aborted) status = call.deadlineExceeded() ? "DEADLINE_EXCEEDED" : "CANCELLED";
      return out;
    } catch (err) {
      const gone = call.signal.aborted;
      const failure = gone
        ? envelope.refuse(new ClientClosedError("The client cancelled the call", { cause: err }), requestId)
        : envelope.refuse(err, requestId);
      code = failure.failure.code;
      const grpc = gone
        ? (call.deadlineExceeded() ? STATUS.DEADLINE_EXCEEDED : STATUS.CANCELLED)
        : grpcCode(failure.failure.status);
      status = codeName(grpc);
      throw new GrpcError(grpc, failure.message);
    } finally {
      envelope.done({
        protocol: "grpc",
        requestId,
        method: "POST",
        path: ROUTE + method,
        route: ROUTE + method,
        model: labels.model,
        version: labels.version,
        status,
        code,
        seconds: (performance.now() - start) / 1000,
      });
    }
  };
  /** The model a request names, set as the label once it is known to exist. */
  const named = (labels: Labels, name: string | undefined, version: string | undefined) => {
    const served = plane.served(name ?? "", version || undefined);
    labels.model = served.model.name;
    return served.model;
  };
  return {
    ServerLive: wrap("ServerLive", true, () => Promise.resolve({ live: true })),
    ServerReady: wrap("ServerReady", true, () => Promise.resolve({ ready: plane.ready() })),
    ModelReady: wrap("ModelReady", false, (req: { name?: string; version?: string }, labels) => {
      named(labels, req.name, req.version);
      return Promise.resolve({ ready: plane.modelReady(req.name ?? "", req.version || undefined) });
    }),
    ServerMetadata: wrap("ServerMetadata", false, () => Promise.resolve(plane.metadata())),
    ModelMetadata: wrap("ModelMetadata", false, (req: { name?: string; version?: string }, labels) => {
      named(labels, req.name, req.version);
      const { name, versions, platform, inputs, outputs } = plane.modelMetadata(
        req.name ?? "",
        req.version || undefined,
      );
      // The proto's TensorMetadata has no parameters: a ZipMap's labels are on REST only.
      const strip = (t: { name: string; datatype: string; shape: number[] }) => ({
        name: t.name,
        datatype: t.datatype,
        shape: t.shape,
      });
      return Promise.resolve({ name, versions, platform, inputs: inputs.map(strip), outputs: outputs.map(strip) });
    }),
    ModelInfer: wrap("ModelInfer", false, async (req: InferRequestMessage, labels, requestId) => {
      const version = req.model_version || undefined;
      const model = named(labels, req.model_name, version);
      const request = decodeInferRequest(req, model);
      const context = { requestId, modelVersion: "" };
      try {
        const result = await plane.infer(model.name, version, request, context);
        return encodeInferResponse(result, isRaw(req));
      } finally {
        labels.version = context.modelVersion;
      }
    }),
  };
}
