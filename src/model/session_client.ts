/**
 * The part of an onnxruntime session a {@linkcode Model} uses (`run`,
 * `release`), run in a worker (`session_worker.ts`) so the calling thread
 * is free while the model scores: `score batch` reads the next batch and
 * writes the last one meanwhile. The same bytes and session options as an
 * in-process session, so a row gets the same bits either way.
 */
import type * as ort from "onnxruntime-node";
import { onnxruntime } from "./onnxruntime.ts";
import { turnOffOrtTelemetry } from "./ort_telemetry.ts";
import type { PlainTensor, SessionMetadata, SessionReply, SessionRequest } from "./session_worker.ts";

/**
 * What a Model runs its batches through: an onnxruntime session (which has this shape), or one in a worker.
 *
 * @example
 * ```ts
 * const session: Session = await ort.InferenceSession.create("model.onnx");
 * ```
 */
export interface Session {
  run(
    feeds: Record<string, ort.Tensor>,
    fetches: readonly string[],
  ): Promise<ort.InferenceSession.OnnxValueMapType>;
  release(): Promise<void>;
}

/**
 * A session and what onnxruntime tells of the model's inputs and outputs: an onnxruntime session (which has this
 * shape), or one in a worker. The model's load reads the model off it.
 */
export interface DescribedSession extends Session, SessionMetadata {}

/** How long `release` waits for a run in progress to end before the worker is stopped anyway. */
const RELEASE_WAIT_MS = 5_000;

/**
 * Starts a worker and loads the model's bytes into a session there.
 *
 * @example
 * ```ts
 * const session = await openWorkerSession(bytes, { intraOpNumThreads: 1 });
 * const out = await session.run({ x: new ort.Tensor("float32", new Float32Array([1]), [1, 1]) }, ["y"]);
 * await session.release();
 * ```
 */
export async function openWorkerSession(
  bytes: Uint8Array,
  options: ort.InferenceSession.SessionOptions,
): Promise<DescribedSession> {
  // The worker loads onnxruntime itself, at once: the switch must be set before, as for the in-process one.
  turnOffOrtTelemetry();
  const worker = new Worker(new URL("./session_worker.ts", import.meta.url), { type: "module" });
  const runs = new Map<number, PromiseWithResolvers<Record<string, PlainTensor>>>();
  const loaded = Promise.withResolvers<SessionMetadata>();
  const released = Promise.withResolvers<void>();
  let failure: Error | undefined;
  let ids = 0;
  const fail = (err: Error) => {
    failure ??= err;
    loaded.reject(failure);
    released.resolve();
    for (const run of runs.values()) run.reject(failure);
    runs.clear();
  };
  worker.onmessage = (event: MessageEvent<SessionReply>) => {
    const reply = event.data;
    if (reply.kind === "loaded") return loaded.resolve(reply.metadata);
    if (reply.kind === "released") return released.resolve();
    if (reply.kind === "failed" && reply.id === 0) return loaded.reject(new Error(reply.message));
    const run = runs.get(reply.id);
    runs.delete(reply.id);
    if (reply.kind === "ran") run?.resolve(reply.outputs);
    else run?.reject(new Error(reply.message));
  };
  worker.onmessageerror = () => fail(new Error("The model's worker sent an answer that could not be read"));
  worker.onerror = (event: ErrorEvent) => {
    // Handled here: an error left unhandled in a worker would end the whole process.
    event.preventDefault();
    fail(new Error(`The model's worker failed: ${event.message}`));
  };
  worker.postMessage({ kind: "load", bytes, options } satisfies SessionRequest);
  let metadata: SessionMetadata;
  try {
    metadata = await loaded.promise;
  } catch (err) {
    worker.terminate();
    throw err;
  }
  return {
    ...metadata,
    async run(feeds, fetches) {
      if (failure) throw failure;
      const id = ++ids;
      const plain: Record<string, PlainTensor> = {};
      for (const [name, t] of Object.entries(feeds)) plain[name] = { type: t.type, data: t.data, dims: t.dims };
      const run = Promise.withResolvers<Record<string, PlainTensor>>();
      runs.set(id, run);
      // Copied, not moved: a feed's data may be the caller's own column, still needed after the run.
      worker.postMessage({ kind: "run", id, feeds: plain, fetches: [...fetches] } satisfies SessionRequest);
      const outputs = await run.promise;
      const { Tensor } = onnxruntime();
      const results: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(outputs)) results[name] = new Tensor(t.type, t.data as never, t.dims);
      return results;
    },
    async release() {
      if (failure === undefined) {
        // The worker answers once a run in progress has ended (a thread stopped inside onnxruntime's native code
        // could take the process down as it exits); bounded, as every wait is.
        worker.postMessage({ kind: "release" } satisfies SessionRequest);
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([released.promise, new Promise((r) => timer = setTimeout(r, RELEASE_WAIT_MS))]);
        clearTimeout(timer);
      }
      fail(new Error("The model was closed"));
      worker.terminate();
    },
  };
}
