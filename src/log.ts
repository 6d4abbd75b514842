/**
 * Structured logs: one JSON object per line on stderr, so stdout stays free
 * for data (`--output -`). Secrets never reach a line: every string field
 * goes through {@linkcode redact}.
 *
 * @example
 * ```ts
 * log.info("batch done", { rows: 64572, seconds: 0.4 });
 * ```
 */
import { jsonText } from "./value_codec.ts";

/** The levels, lowest first (`LOG_LEVEL` takes one; anything else is refused when a command starts). */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
type Level = (typeof LOG_LEVELS)[number];
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const encoder = new TextEncoder();
let threshold = ORDER[Deno.env.get("LOG_LEVEL")?.trim().toLowerCase() as Level] ?? ORDER.info;

function write(level: Level, msg: string, fields: Record<string, unknown> = {}) {
  if (ORDER[level] < threshold) return;
  const line: Record<string, unknown> = { time: new Date().toISOString(), level, msg: redact(msg) };
  for (const [k, v] of Object.entries(fields)) line[k] = typeof v === "string" ? redact(v) : v;
  const text = jsonText(line) + "\n";
  if (divert) divert(text);
  else Deno.stderr.writeSync(encoder.encode(text));
}

/** Where whole lines go instead of stderr while a progress bar owns the terminal's last line. */
let divert: ((line: string) => void) | undefined;

/** The process logger. */
export const log = {
  debug: (msg: string, fields?: Record<string, unknown>) => write("debug", msg, fields),
  info: (msg: string, fields?: Record<string, unknown>) => write("info", msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => write("warn", msg, fields),
  error: (msg: string, fields?: Record<string, unknown>) => write("error", msg, fields),
  /** Sends every line (whole, newline included) to `to` instead of stderr; `undefined` restores stderr. */
  divert: (to: ((line: string) => void) | undefined) => {
    divert = to;
  },
  /** Sets the lowest level written. */
  setLevel: (level: Level) => {
    threshold = ORDER[level];
  },
};

/** Query parameters that carry a credential: a presigned URL's signature and token, API keys. */
const SECRET_PARAMS =
  /([?&](?:x-amz-signature|x-amz-security-token|x-amz-credential|signature|sig|token|access_token|api_key|apikey|password|secret)=)[^&#\s"]*/gi;

/**
 * Hides the password of every URL in `text` (`postgres://u:secret@h` ->
 * `postgres://u:***@h`) and the credentials in its query (a presigned URL's
 * `X-Amz-Signature`, a `token=`).
 *
 * @example
 * ```ts
 * redact("amqp://guest:guest@127.0.0.1"); // "amqp://guest:***@127.0.0.1"
 * redact("https://h/m.onnx?X-Amz-Signature=abc"); // "https://h/m.onnx?X-Amz-Signature=***"
 * ```
 */
export function redact(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, "$1***@").replace(SECRET_PARAMS, "$1***");
}
