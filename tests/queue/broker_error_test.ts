/**
 * The broker's refusals, as amqplib reports them (messages taken from the
 * real RabbitMQ), read as our errors: one mapping for consume and publish.
 */
import assert from "node:assert/strict";
import { AuthError, UsageError } from "../../src/errors.ts";
import { brokerError } from "../../src/queue/broker_error.ts";

const refused = (code: number | undefined, message: string) => Object.assign(new Error(message), { code });

Deno.test("brokerError reads a refusal as what it is", async (t) => {
  const flags = { "--exchange": "rides", "--prediction-exchange": "amq.preds" };
  const cases: [string, Error, (typeof UsageError | typeof AuthError) | undefined, RegExp | undefined][] = [
    [
      "wrong credentials",
      refused(
        undefined,
        'Handshake terminated by server: 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile."',
      ),
      AuthError,
      /^The broker refused the credentials or the vhost: Handshake terminated/,
    ],
    [
      "a reserved exchange name, with its flag",
      refused(
        403,
        "Operation failed: ExchangeDeclare; 403 (ACCESS-REFUSED) with message \"ACCESS_REFUSED - exchange name 'amq.preds' contains reserved prefix 'amq.*'\"",
      ),
      UsageError,
      /^--prediction-exchange "amq\.preds" is a reserved exchange name: the broker keeps names starting with "amq\."/,
    ],
    [
      "a reserved name no flag gave",
      refused(403, "ACCESS_REFUSED - exchange name 'amq.x' contains reserved prefix 'amq.*'"),
      UsageError,
      /^The exchange "amq\.x" is a reserved exchange name/,
    ],
    [
      "a permission refused",
      refused(403, "ACCESS_REFUSED - access to exchange 'rides' in vhost '/' refused for user 'app'"),
      AuthError,
      /^The broker refused an operation \(permissions\): /,
    ],
    [
      "a clashing declaration",
      refused(406, "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'amq.direct'"),
      UsageError,
      /^The broker rejected the topology: /,
    ],
    ["a broker down: retry", refused(undefined, "connect ECONNREFUSED 127.0.0.1:1"), undefined, undefined],
  ];
  for (const [name, err, type, message] of cases) {
    await t.step(name, () => {
      const mapped = brokerError(err, flags);
      if (type === undefined) return assert.equal(mapped, undefined);
      assert.ok(mapped instanceof type, String(mapped));
      assert.match(mapped.message, message!);
      assert.equal(mapped.exitCode, type === AuthError ? 77 : 64);
    });
  }
});
