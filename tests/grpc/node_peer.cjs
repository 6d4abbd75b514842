// A grpc-js client on Node (an independent peer: the runtime most grpc-js
// users have) for tests/grpc/grpc_js_goaway_test.ts and
// bench/grpc_goaway_repro.ts: `node node_peer.cjs PORT [CALLS] [CALLERS]`
// makes CALLS ServerLive calls from CALLERS concurrent callers on one
// channel, closes the channel (grpc-js then sends GOAWAY), and prints the
// number of failed calls (exit 1 when any failed).
"use strict";
const path = require("node:path");
const root = path.join(__dirname, "..", "..");
const grpc = require(path.join(root, "node_modules/@grpc/grpc-js"));
const loader = require(path.join(root, "node_modules/@grpc/proto-loader"));
const [port, calls = "400", callers = "8"] = process.argv.slice(2);
const definition = loader.loadSync(path.join(root, "src/grpc/grpc_predict_v2.proto"), { keepCase: true });
const Service = grpc.loadPackageDefinition(definition).inference.GRPCInferenceService;
const client = new Service(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
let next = 0;
let failed = 0;
const caller = async () => {
  while (next++ < Number(calls)) {
    await new Promise((resolve) =>
      client.ServerLive({}, (err) => {
        if (err) failed++;
        resolve();
      })
    );
  }
};
Promise.all(Array.from({ length: Number(callers) }, caller)).then(() => {
  client.close();
  console.log(failed);
  process.exitCode = failed === 0 ? 0 : 1;
});
