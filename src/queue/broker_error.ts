/**
 * What a RabbitMQ refusal means, as our errors: one mapping for `score
 * consume` and `score publish`, so the same failure exits with the same
 * code in both.
 */
import { AuthError, UsageError } from "../errors.ts";
import { redact } from "../log.ts";

/** AMQP reply codes that no reconnect can fix. */
const ACCESS_REFUSED = 403;
const PRECONDITION_FAILED = 406;
const NOT_ALLOWED = 530;

/** RabbitMQ's words when a declare uses a name of its own (`amq.` prefix). */
const RESERVED = /exchange name '([^']*)' contains reserved prefix/;

/**
 * The error a broker's refusal stands for, or undefined for a failure a
 * retry may fix (a broker down, a connection lost). `exchanges` maps each
 * flag that names an exchange to the name given, so a refused name is
 * reported with its flag.
 *
 * - a reserved exchange name (`amq.*`, refused with ACCESS_REFUSED on
 *   declare): `UsageError` naming the flag and the name (exit 64);
 * - any other ACCESS_REFUSED (credentials, vhost, permissions): `AuthError`
 *   (exit 77);
 * - PRECONDITION_FAILED, NOT_ALLOWED (a topology that clashes with the
 *   broker's): `UsageError` (exit 64).
 *
 * @example
 * ```ts
 * brokerError(err, { "--exchange": "amq.rides" });
 * // UsageError: --exchange "amq.rides" is a reserved exchange name: ...
 * ```
 */
export function brokerError(
  err: unknown,
  exchanges: Record<string, string | undefined> = {},
): UsageError | AuthError | undefined {
  const e = err as { code?: unknown; message?: string };
  const message = e?.message ?? String(err);
  const reserved = RESERVED.exec(message);
  if (reserved) {
    const name = reserved[1];
    const flag = Object.entries(exchanges).find(([, given]) => given === name)?.[0];
    return new UsageError(
      `${flag ?? "The exchange"} "${name}" is a reserved exchange name: the broker keeps names starting with ` +
        `"amq." for itself; choose another name`,
      { cause: err },
    );
  }
  if (e?.code === ACCESS_REFUSED || /ACCESS[-_]REFUSED/i.test(message)) {
    const what = /handshake|login/i.test(message) ? "the credentials or the vhost" : "an operation (permissions)";
    return new AuthError(`The broker refused ${what}: ${redact(message)}`, { cause: err });
  }
  if (e?.code === PRECONDITION_FAILED || e?.code === NOT_ALLOWED) {
    return new UsageError(`The broker rejected the topology: ${message}`, { cause: err });
  }
  return undefined;
}
