/**
 * The one errors module: the few failures a caller is expected to handle.
 *
 * Each class carries a stable `code` (for JSON bodies and logs), an HTTP
 * `status` and a process `exitCode` (sysexits.h numbers), so every transport
 * maps a failure in exactly one place: Hono's `onError`, the consumer's
 * dead-letter path, `main.ts`'s exit code and the batch rejects.
 *
 * The model module's `ModelError` (`src/model/model_error.ts`) is one of
 * them, kept beside the code that throws it.
 *
 * @example
 * ```ts
 * throw new InputError(`Cannot parse row 12: column "trip_distance" is not a number`);
 * ```
 */

/** The fields every handled failure carries. */
export interface Failure {
  readonly code: string;
  readonly status: number;
  readonly exitCode: number;
  readonly message: string;
}

/** Base class: a failure with a code, an HTTP status and an exit code. */
export class ScoreError extends Error implements Failure {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
    readonly exitCode: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Wrong flags or configuration: fix the command line. Exit 64 (EX_USAGE). */
export class UsageError extends ScoreError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, "usage", 400, 64, options);
  }
}

/**
 * A flag's or variable's value its parser refuses; the parser says why, the command line adds which option and value.
 * Exit 64.
 *
 * @example
 * ```ts
 * throw new InvalidArgumentError(`"${value}" is not a whole number >= 1.`);
 * ```
 */
export class InvalidArgumentError extends UsageError {}

/** Data that cannot be scored: a bad row, request or message. Exit 65 (EX_DATAERR). */
export class InputError extends ScoreError {
  constructor(message: string, options?: ErrorOptions & { status?: number; code?: string }) {
    super(message, options?.code ?? "invalid_input", options?.status ?? 422, 65, options);
  }
}

/** A file, model, table or route that does not exist. Exit 66 (EX_NOINPUT). */
export class NotFoundError extends ScoreError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, "not_found", 404, 66, options);
  }
}

/** A server we depend on is unreachable or overloaded: retry later. Exit 69 (EX_UNAVAILABLE). */
export class UnavailableError extends ScoreError {
  constructor(message: string, options?: ErrorOptions & { retryAfterSeconds?: number }) {
    super(message, "unavailable", 503, 69, options);
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
  readonly retryAfterSeconds?: number;
}

/** Missing or wrong credentials. Exit 77 (EX_NOPERM). */
export class AuthError extends ScoreError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, "unauthorized", 401, 77, options);
  }
}

/** An output that cannot be written: its folder is missing, not writable, or read-only. Exit 73 (EX_CANTCREAT). */
export class CannotWriteError extends ScoreError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, "cannot_write", 500, 73, options);
  }
}

/**
 * The client went away before its request arrived whole (hung up mid-body,
 * or sent too slowly): nothing to answer and nobody to page. Status 499,
 * the common convention for it; exit 75 (EX_TEMPFAIL).
 */
export class ClientClosedError extends ScoreError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, "client_closed_request", 499, 75, options);
  }
}

/** The job ran but rejected more rows than allowed. Exit 65 (EX_DATAERR). */
export class TooManyRejectsError extends ScoreError {
  constructor(message: string) {
    super(message, "too_many_rejects", 422, 65);
  }
}

/** SIGTERM or SIGINT stopped a job; nothing of the run in progress was committed. Exit 143 or 130 (128 + the signal). */
export class InterruptedError extends ScoreError {
  constructor(readonly signal: "SIGTERM" | "SIGINT") {
    super(
      `Interrupted by ${signal}: the run in progress was stopped and nothing of it was committed`,
      "interrupted",
      503,
      signal === "SIGINT" ? 130 : 143,
    );
  }
}

/**
 * Whether `err` (or what caused it) is a write to a pipe whose reader has gone (`score batch --output - | head`).
 *
 * @example
 * ```ts
 * if (closedPipe(err)) Deno.exit(0); // the reader has all it wanted
 * ```
 */
export function closedPipe(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) if (e instanceof Deno.errors.BrokenPipe) return true;
  return false;
}

/**
 * Reads any thrown value as a {@linkcode Failure}: handled failures keep
 * their fields, anything else is an internal error (500, exit 70) whose
 * message is kept for logs.
 *
 * @example
 * ```ts
 * const { status, code, message } = describeError(err);
 * ```
 */
export function describeError(err: unknown): Failure {
  if (err instanceof Error && isFailure(err)) {
    return { code: err.code, status: err.status, exitCode: err.exitCode, message: err.message };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: "internal", status: 500, exitCode: 70, message };
}

function isFailure(err: Error): err is Error & Failure {
  const e = err as Partial<Failure>;
  return typeof e.code === "string" && typeof e.status === "number" &&
    typeof e.exitCode === "number";
}
