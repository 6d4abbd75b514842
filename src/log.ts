/**
 * Structured logs: one JSON object per line on stderr, so stdout stays free
 * for data (`--output -`), or the same fields as a text line for a person at
 * a terminal. Secrets never reach a line: every string field goes through
 * {@linkcode redact} before either form is written.
 *
 * @example
 * ```ts
 * log.info("batch done", { rows: 64572, seconds: 0.4 });
 * ```
 */
import { jsonText } from "./value_codec.ts";

/** How lines are written: JSON objects, or text for a person at a terminal (`--log-format`, `LOG_FORMAT`). */
export const LOG_FORMATS = ["json", "text"] as const;
type Format = (typeof LOG_FORMATS)[number];
// JSON unless the command line says otherwise: only `main.ts` knows whether a person reads stderr.
let format: Format = "json";

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
  const text = (format === "json" ? jsonText(line) : textLine(line)) + "\n";
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
  /** Writes JSON lines or text lines from now on. */
  setFormat: (to: Format) => {
    format = to;
  },
  /** The format and lowest level now, for a worker thread to log as this one does. */
  settings: (): { format: Format; level: Level } => ({
    format,
    level: LOG_LEVELS.find((l) => ORDER[l] === threshold) ?? "info",
  }),
};

/** A bare word stays bare in a text line; anything else is quoted as JSON, so a line still reads back unambiguously. */
const BARE = /^[\w.:/@+,*-]+$/u;

/**
 * One log line for a person: `12:04:05.123 INFO  listening url=http://127.0.0.1:9696 port=9696`
 * (local time, the level, the message, then the fields as key=value).
 */
function textLine(line: Record<string, unknown>): string {
  const { time, level, msg, ...fields } = line;
  const at = new Date(time as string);
  const clock = [at.getHours(), at.getMinutes(), at.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":") +
    "." + String(at.getMilliseconds()).padStart(3, "0");
  let text = `${clock} ${String(level).toUpperCase().padEnd(5)} ${msg}`;
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    text += ` ${k}=${typeof v === "string" && BARE.test(v) ? v : jsonText(v)}`;
  }
  return text;
}

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
