/**
 * An onnxruntime session in a worker of its own (see `session_client.ts`):
 * `session.run` holds its thread for the whole run, so a caller that has
 * other work (reading the next batch, writing the last) runs the model
 * here, on another core.
 *
 * Messages (see {@linkcode SessionRequest}): `load` (the model's bytes and
 * session options), then `run`s, each answered with its outputs or its
 * failure, by id, and `release` (the session freed, then `released`).
 */
/// <reference lib="deno.worker" />
import * as ort from "onnxruntime-node";

// As on the main thread (load_model.ts): onnxruntime's raw log lines would break stderr's JSON lines.
ort.env.logLevel = "fatal";

/** A tensor as it crosses between threads: its type, data and dimensions. */
export interface PlainTensor {
  type: ort.Tensor.Type;
  data: ort.Tensor.DataType;
  dims: readonly number[];
}

/** What onnxruntime tells of a session's inputs and outputs, as its session object has them. */
export interface SessionMetadata {
  inputNames: readonly string[];
  outputNames: readonly string[];
  inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  outputMetadata: readonly ort.InferenceSession.ValueMetadata[];
}

/** What the worker is sent. */
export type SessionRequest =
  | { kind: "load"; bytes: Uint8Array; options: ort.InferenceSession.SessionOptions }
  | { kind: "run"; id: number; feeds: Record<string, PlainTensor>; fetches: string[] }
  | { kind: "release" };

/** What it answers: `loaded` (or `failed` with id 0) once, then one answer per run, and `released` last. */
export type SessionReply =
  | { kind: "loaded"; metadata: SessionMetadata }
  | { kind: "ran"; id: number; outputs: Record<string, PlainTensor> }
  | { kind: "failed"; id: number; message: string }
  | { kind: "released" };

let session: ort.InferenceSession | undefined;
/** Requests are handled one after the other: a release must not free the session under a run still to start. */
let queue = Promise.resolve();

self.onmessage = (event: MessageEvent<SessionRequest>) => {
  queue = queue.then(() => handle(event.data));
};

async function handle(request: SessionRequest): Promise<void> {
  if (request.kind === "load") {
    try {
      session = await ort.InferenceSession.create(request.bytes, request.options);
      const { inputNames, outputNames, inputMetadata, outputMetadata } = session;
      const metadata = { inputNames, outputNames, inputMetadata, outputMetadata };
      self.postMessage({ kind: "loaded", metadata } satisfies SessionReply);
    } catch (err) {
      self.postMessage({ kind: "failed", id: 0, message: (err as Error).message } satisfies SessionReply);
    }
    return;
  }
  if (request.kind === "release") {
    await session?.release().catch(() => {});
    session = undefined;
    self.postMessage({ kind: "released" } satisfies SessionReply);
    return;
  }
  const feeds: Record<string, ort.Tensor> = {};
  try {
    for (const [name, t] of Object.entries(request.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    const results = await session!.run(feeds, request.fetches);
    const outputs: Record<string, PlainTensor> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [name, value] of Object.entries(results)) {
      const t = value as ort.Tensor;
      outputs[name] = { type: t.type, data: t.data, dims: t.dims };
      // A typed array's memory moves to the caller instead of being copied; string outputs are copied.
      if (ArrayBuffer.isView(t.data) && !transfer.includes(t.data.buffer as ArrayBuffer)) {
        transfer.push(t.data.buffer as ArrayBuffer);
      }
    }
    self.postMessage({ kind: "ran", id: request.id, outputs } satisfies SessionReply, transfer);
  } catch (err) {
    self.postMessage({ kind: "failed", id: request.id, message: (err as Error).message } satisfies SessionReply);
  } finally {
    for (const t of Object.values(feeds)) t.dispose();
  }
}
