/**
 * The Open Inference Protocol over gRPC: `inference.GRPCInferenceService`
 * (the shipped `grpc_predict_v2.proto`) over the data plane.
 *
 * @example
 * ```ts
 * import { inferenceService, listenGrpc } from "./src/grpc/mod.ts";
 * const server = await listenGrpc(inferenceService(plane, envelope), { hostname: "127.0.0.1", port: 8081, maxMessageBytes: 4 << 20 });
 * ```
 */
export { type GrpcListener, listenGrpc, PROTO_PATH } from "./grpc_js.ts";
export { inferenceService, type InferenceServiceOptions } from "./inference_service.ts";
export { codeName, grpcCode } from "./status.ts";
