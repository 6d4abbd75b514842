import assert from "node:assert/strict";
import { acceptFailure, OUT_OF_DESCRIPTORS } from "../../src/http/accept_failure.ts";

Deno.test("acceptFailure: running out of descriptors by name, any other failure as it is", async (t) => {
  const cases: [string, unknown, string][] = [
    ["Deno's EMFILE", new Error("Too many open files (os error 24)"), OUT_OF_DESCRIPTORS],
    ["node's EMFILE", new Error("accept EMFILE: too many open files"), OUT_OF_DESCRIPTORS],
    ["another error", new Error("connection reset"), "Error: connection reset"],
    ["a value that is no error", "boom", "boom"],
  ];
  for (const [name, err, reason] of cases) {
    await t.step(name, () => assert.equal(acceptFailure(err), reason));
  }
});
