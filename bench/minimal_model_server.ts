/**
 * The least a model server on this stack does, as a ceiling for `score
 * serve` in `make bench-serve`: bare `Deno.serve`; each request's method,
 * path and the two headers a service reads (`x-request-id`,
 * `content-length`), a request id made when none came, the body parsed as
 * JSON, the rides that came in together scored by one onnxruntime-node run
 * of the linear model, the answer as JSON. No validation, limits,
 * timeouts, metrics or log: what any server must pay before its own work.
 *
 * `deno run -A bench/minimal_model_server.ts <model.onnx>`; listens on a
 * free port of 127.0.0.1 and says which on stderr.
 */
import * as ort from "onnxruntime-node";
import { setImmediate } from "node:timers";

const session = await ort.InferenceSession.create(await Deno.readFile(Deno.args[0]), { intraOpNumThreads: 1 });
const version = "9bceaa0ed43a";
interface Ride {
  PULocationID: number;
  DOLocationID: number;
  trip_distance: number;
}
let waiting: { ride: Ride; resolve: (duration: number) => void }[] = [];

async function run() {
  const batch = waiting;
  waiting = [];
  const n = batch.length;
  const pu = new BigInt64Array(n);
  const dl = new BigInt64Array(n);
  const distance = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    pu[i] = BigInt(batch[i].ride.PULocationID);
    dl[i] = BigInt(batch[i].ride.DOLocationID);
    distance[i] = batch[i].ride.trip_distance;
  }
  const out = await session.run({
    PULocationID: new ort.Tensor("int64", pu, [n]),
    DOLocationID: new ort.Tensor("int64", dl, [n]),
    trip_distance: new ort.Tensor("float64", distance, [n]),
  });
  const durations = out.duration.data as Float64Array;
  for (let i = 0; i < n; i++) batch[i].resolve(durations[i]);
}

Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.error(JSON.stringify({ msg: "listening", port })),
}, async (req) => {
  if (req.method !== "POST" || !req.url.endsWith("/predict")) return new Response(null, { status: 404 });
  req.headers.get("content-length");
  const sent = req.headers.get("x-request-id");
  // The id a log line would carry when the client sent none.
  if (sent === null) crypto.randomUUID();
  const ride = JSON.parse(await req.text()) as Ride;
  const duration = await new Promise<number>((resolve) => {
    // The rides that arrive in this turn of the event loop run together, as score's batcher runs them.
    if (waiting.push({ ride, resolve }) === 1) setImmediate(run);
  });
  const json = JSON.stringify({ duration, model_version: version });
  return new Response(json, {
    headers: sent === null
      ? { "content-type": "application/json" }
      : { "content-type": "application/json", "x-request-id": sent },
  });
});
