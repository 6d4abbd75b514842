/**
 * The access log: one JSON line per request on stderr, in the format of
 * `src/log.ts` (time, level, msg, fields). Unlike the process logger it
 * buffers: a write syscall per request would cost the service much of its
 * throughput, so lines go out in chunks of about 32 KB, at least
 * every 50 ms, and on `flush()` at shutdown.
 *
 * @example
 * ```ts
 * const accessLog = new AccessLog();
 * accessLog.write({ requestId: "abc", method: "POST", path: "/predict", route: "/predict", model: "m", status: 200, latencyMs: 0.8 });
 * accessLog.flush();
 * ```
 */
import { redact } from "../log.ts";

const FLUSH_BYTES = 32 * 1024;
const FLUSH_MS = 50;
/** Repeating values whose JSON literals are kept (routes, models, methods, paths of those routes). */
const QUOTED_KEPT = 256;
/** Longer values are quoted each time: the kept ones stay a few kilobytes whatever the paths clients send. */
const QUOTED_LENGTH = 128;

/** What one line says about a request. */
export interface AccessEntry {
  requestId: string;
  method: string;
  path: string;
  /** The matched route pattern, e.g. `/models/:name/predict`. */
  route: string;
  /** Empty when the route has no model. */
  model: string;
  /** An HTTP status, or a gRPC status code name (`OK`, `INVALID_ARGUMENT`). */
  status: number | string;
  latencyMs: number;
  /** The error's code, for a request that failed. */
  code?: string;
  /** Written for gRPC calls only ("grpc"); a line without it is a REST request. */
  protocol?: string;
}

/** A buffered JSON-lines writer for request lines. */
export class AccessLog {
  readonly #encoder = new TextEncoder();
  readonly #out: { writeSync(p: Uint8Array): number };
  /**
   * The lines queued, encoded as they come: a line kept as a string until the flush would outlive young-generation
   * collections and be copied by each, which cost a server more than building the line.
   */
  readonly #buffer = new Uint8Array(2 * FLUSH_BYTES);
  #queued = 0;
  /** The JSON literals of the values that repeat on every line (method, route, model, most paths), kept once. */
  readonly #quoted = new Map<string, string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastMs = 0;
  #lastTime = "";

  /** `out` defaults to stderr; it must be done with the bytes it is given when `writeSync` returns (they are reused). */
  constructor(out: { writeSync(p: Uint8Array): number } = Deno.stderr) {
    this.#out = out;
  }

  /** Queues one line: `{"time", "level": "info", "msg": "request", "request_id", ...}`. */
  write(e: AccessEntry): void {
    // Built by hand, not with JSON.stringify of an object: this runs on every request.
    // Only the path can carry a URL with a password (the request id is checked by the app).
    const path = e.path.includes("://") ? redact(e.path) : e.path;
    const now = Date.now();
    if (now !== this.#lastMs) {
      this.#lastMs = now;
      this.#lastTime = new Date(now).toISOString();
    }
    const line = `{"time":"${this.#lastTime}","level":"info","msg":"request","request_id":${
      quote(e.requestId)
    },"method":${this.#quote(e.method)},"path":${this.#quote(path)},"route":${this.#quote(e.route)}${
      e.model === "" ? "" : `,"model":${this.#quote(e.model)}`
    },"status":${typeof e.status === "number" ? e.status : this.#quote(e.status)}${
      e.protocol === undefined ? "" : `,"protocol":${quote(e.protocol)}`
    }${e.code === undefined ? "" : `,"code":${this.#quote(e.code)}`},"latency_ms":${e.latencyMs}}\n`;
    // UTF-8 takes at most 3 bytes for a UTF-16 unit.
    if (3 * line.length > this.#buffer.length - this.#queued) {
      this.flush();
      if (3 * line.length > this.#buffer.length) return this.#writeAll(this.#encoder.encode(line));
    }
    this.#queued += this.#encoder.encodeInto(line, this.#buffer.subarray(this.#queued)).written;
    if (this.#queued >= FLUSH_BYTES) this.flush();
    else if (this.#timer === undefined) {
      const timer = setTimeout(() => this.flush(), FLUSH_MS);
      // The log must never keep a stopping process alive; shutdown flushes explicitly.
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
  }

  /** Writes out every queued line now. */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#queued === 0) return;
    const queued = this.#queued;
    this.#queued = 0;
    this.#writeAll(this.#buffer.subarray(0, queued));
  }

  #writeAll(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length) at += this.#out.writeSync(bytes.subarray(at));
  }

  /** `quote` of a value seen before; a client-chosen path may be new every time, so only so many are kept. */
  #quote(s: string): string {
    let q = this.#quoted.get(s);
    if (q === undefined) {
      q = quote(s);
      if (this.#quoted.size < QUOTED_KEPT && s.length <= QUOTED_LENGTH) this.#quoted.set(s, q);
    }
    return q;
  }
}

// Printable ASCII but `"` and `\`: such a string is its own JSON literal.
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** A JSON string literal; most values need no escaping, and checking is cheaper than escaping. */
function quote(s: string): string {
  return PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
}
