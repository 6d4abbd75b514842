/**
 * Turns a postgres.js failure into one of our errors, by SQLSTATE class or
 * socket error code, naming where it happened but never the password.
 */
import { AuthError, InputError, NotFoundError, ScoreError, UnavailableError, UsageError } from "../errors.ts";
import { redact } from "../log.ts";
import type { PgTarget } from "./postgres_url.ts";

const TRANSIENT_SOCKET = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
]);

/**
 * Maps `err` to a `ScoreError` (an error without a code is returned as is); `doing` says what was being done
 * ("reading the query", "writing table \"preds\"").
 *
 * @example
 * ```ts
 * throw pgError(err, target, `reading table "rides"`);
 * ```
 */
export function pgError(
  err: unknown,
  target: Pick<PgTarget, "host" | "port" | "database" | "user">,
  doing?: string,
): Error {
  if (err instanceof ScoreError) return err;
  const e = (err ?? {}) as { code?: string; message?: string; detail?: string; hint?: string; position?: string };
  const where = `Postgres at ${target.host}:${target.port}, database "${target.database}"`;
  const what = doing ? ` while ${doing}` : "";
  const msg = [
    redact(e.message ?? String(err)),
    e.detail && `(${redact(e.detail)})`,
    e.hint && `hint: ${redact(e.hint)}`,
  ]
    .filter(Boolean).join(" ");
  const code = e.code ?? "";
  const options = { cause: err };
  if (
    TRANSIENT_SOCKET.has(code) || code === "ENOTFOUND" || code.startsWith("08") || code === "57P03" || code === "53300"
  ) {
    const why = code === "ENOTFOUND"
      ? "host not found"
      : code === "ECONNREFUSED"
      ? "connection refused"
      : code === "ECONNRESET" || code === "EPIPE"
      ? `connection lost (${msg})`
      : msg;
    return new UnavailableError(`Cannot reach ${where}${what}: ${why}`, options);
  }
  if (code === "28P01" || code === "28000") {
    return new AuthError(`${where} refused user "${target.user}"${what}: ${msg}`, options);
  }
  if (code === "42501") return new AuthError(`${where}: permission denied${what}: ${msg}`, options);
  if (code === "3D000") return new NotFoundError(`${where} does not exist: ${msg}`, options);
  if (code === "42P01" || code === "3F000") return new NotFoundError(`${capital(msg)} in ${where}${what}`, options);
  if (code.startsWith("42")) return new UsageError(`${capital(msg)}${what} (${where})`, options);
  // 54: a program limit a value exceeded (stack depth for a deeply nested JSON value, a row too big): the data's fault.
  if (code.startsWith("22") || code.startsWith("23") || code.startsWith("54")) {
    return new InputError(`${capital(msg)}${what} (${where})`, options);
  }
  if (code === "") return err instanceof Error ? err : new Error(String(err));
  return new UnavailableError(`${where} failed${what}: ${msg}`, options);
}

// A server message never holds our password, but a socket error may echo a URL.

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
