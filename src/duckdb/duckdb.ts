/**
 * An embedded DuckDB, the file reader's and the Parquet writer's: the
 * library loaded on first use, the thread's one database that spills to a
 * folder of its own, connections whose `close` waits for the work in flight
 * on them, and SQL quoting. Its results' columns come out, and go into an
 * appender, through duckdb_columns.ts.
 */
import type { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { join } from "node:path";
import { lazyImport } from "../lazy_import.ts";
import type * as NodeApi from "./duckdb_node_api.ts";
import { log } from "../log.ts";
import { OWNER, sweepStaleFolders } from "../owner.ts";

type Api = typeof NodeApi;
type Bindings = typeof NodeApi.bindings;
let api: Api | undefined;
let bindings: Bindings | undefined;

/** The library, loaded on first use: a command that reads and writes no file never loads its 70 MB library. */
async function load(): Promise<Api> {
  api ??= await lazyImport<typeof NodeApi>(new URL("./duckdb_node_api.ts", import.meta.url));
  bindings ??= api.bindings;
  return api;
}

/**
 * Starts loading the library, for a database this thread will open soon (a Parquet output): loading it is most of
 * opening the first database (~0.1 s), and it can overlap other setup. A failure is the open's to report.
 *
 * @example
 * ```ts
 * preloadDuckDB();
 * ```
 */
export function preloadDuckDB(): void {
  load().catch(() => {});
}

/**
 * The library, once a database is open: duckdb_columns.ts reads and writes its vectors with it.
 *
 * @example
 * ```ts
 * const { DuckDBTypeId } = loadedApi();
 * ```
 */
export function loadedApi(): Api {
  if (api === undefined) throw new Error("DuckDB is not loaded yet: open a database first");
  return api;
}

/**
 * The C API binding under the library, once a database is open (see {@linkcode loadedApi}).
 *
 * @example
 * ```ts
 * const vector = loadedBindings().data_chunk_get_vector(chunk.chunk, 0);
 * ```
 */
export function loadedBindings(): Bindings {
  if (bindings === undefined) throw new Error("DuckDB is not loaded yet: open a database first");
  return bindings;
}

/** A connection to an embedded database. */
export interface DuckDB {
  connection: DuckDBConnection;
  /**
   * Interrupts what the connection runs, waits for the work marked {@linkcode busy} to end, then closes it, and
   * the database with its last connection: freeing it under a query or a fetch in flight crashes the process.
   */
  close(): Promise<void>;
}

/** Work in flight on each connection (see {@linkcode busy}), and whether it is closing. */
const inFlight = new WeakMap<DuckDBConnection, { works: Set<Promise<unknown>>; closing: boolean }>();

/** How long closing a connection waits for its work, interrupted, to end: past it the connection is left open. */
const CLOSE_WAIT_MS = 10_000;

/**
 * Starts `work` on `connection` and marks it as running, so the database's `close` waits for it: a query or fetch
 * that may still run when its reader is closed (a signal, a failed write) goes through here. Once the connection is
 * closing, no work starts: it fails at once.
 *
 * @example
 * ```ts
 * await busy(db.connection, () => db.connection.run("copy t to 'out.parquet'"));
 * ```
 */
export function busy<T>(connection: DuckDBConnection, start: () => Promise<T>): Promise<T> {
  const state = stateOf(connection);
  if (state.closing) return Promise.reject(new Error("The DuckDB connection is closing"));
  const work = start();
  const works = state.works;
  works.add(work);
  const done = () => works.delete(work);
  work.then(done, done);
  return work;
}

function stateOf(connection: DuckDBConnection): { works: Set<Promise<unknown>>; closing: boolean } {
  let state = inFlight.get(connection);
  if (state === undefined) inFlight.set(connection, state = { works: new Set(), closing: false });
  return state;
}

/** Interrupts a connection's work, refuses new work, and waits (bounded) until none runs; false when some still does. */
async function settle(connection: DuckDBConnection): Promise<boolean> {
  const state = stateOf(connection);
  state.closing = true;
  connection.interrupt();
  const deadline = performance.now() + CLOSE_WAIT_MS;
  while (state.works.size > 0) {
    const left = deadline - performance.now();
    if (left <= 0) return false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, left));
    await Promise.race([Promise.allSettled([...state.works]), timeout]);
    clearTimeout(timer);
  }
  return true;
}

/**
 * How the process's shared database's spill folder is named in the temporary folder:
 * `<prefix><host>.<pid>-<random>`, so a later run can remove one left by a process killed with -9.
 */
export const SPILL_PREFIX = "score-staging-";

/** What the shared database holds in memory before its tables spill to its folder. */
const SHARED_MEMORY = "256MB";

/** The thread's shared database and how many connections use it. */
let shared: { instance: Promise<DuckDBInstance>; spill: string; users: number } | undefined;

/**
 * Connects to the thread's one in-memory DuckDB (a worker has its own: the
 * file reader's), opened on first use and closed with its last connection:
 * its users share its threads (one a core but one) and its memory (256 MB, spilled beyond
 * to a folder of its own in the temporary folder, made by DuckDB when it
 * first spills and removed at the end; the folders of processes that are
 * gone, killed with -9, are removed when it opens).
 * With `options`, a database of its own instead (tests, measurements).
 *
 * @example
 * ```ts
 * const db = await openDuckDB();
 * await db.connection.run("select 1");
 * await db.close();
 * ```
 */
export async function openDuckDB(options?: { threads?: number; memoryLimit?: string }): Promise<DuckDB> {
  if (options !== undefined) {
    const instance = await createInstance({ threads: options.threads, memoryLimit: options.memoryLimit ?? "128MB" });
    return connected(instance, () => Promise.resolve(instance.closeSync()));
  }
  if (shared === undefined) {
    const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
    const spill = join(tmp, `${SPILL_PREFIX}${OWNER}-${crypto.randomUUID().slice(0, 8)}`);
    shared = { instance: createSpilling(tmp, spill), spill, users: 0 };
  }
  const database = shared;
  database.users++;
  const release = async () => {
    if (--database.users > 0) return;
    if (shared === database) shared = undefined;
    // Closed before its folder is removed: DuckDB may still hold files in it.
    (await database.instance.catch(() => undefined))?.closeSync();
    // DuckDB makes the folder when it first spills: none when it never did.
    await Deno.remove(database.spill, { recursive: true }).catch(() => {});
  };
  let instance: DuckDBInstance;
  try {
    instance = await database.instance;
  } catch (err) {
    database.users--;
    if (shared === database) shared = undefined;
    throw err;
  }
  return connected(instance, release);
}

/** The shared database, spilling to `spill` (the folders of processes that are gone removed first). */
async function createSpilling(tmp: string, spill: string): Promise<DuckDBInstance> {
  await sweepStaleFolders(tmp, SPILL_PREFIX);
  // A job's own threads (the main one, the model's, the file reader's and the CSV writer's workers) keep about one
  // core busy: each thread's DuckDB (the file reader's worker's, a Parquet output's on the job's thread) gets the
  // others (on 2 cores, 1 thread was measured faster than 2: bench/NOTES.md).
  const threads = Math.max(1, (navigator.hardwareConcurrency ?? 1) - 1);
  return await createInstance({ threads, memoryLimit: SHARED_MEMORY, tempDirectory: spill });
}

async function createInstance(
  options: { threads?: number; memoryLimit: string; tempDirectory?: string },
): Promise<DuckDBInstance> {
  const config: Record<string, string> = {
    threads: String(options.threads ?? Math.max(1, navigator.hardwareConcurrency ?? 1)),
    // Row order is the source's order: rejects and row numbers depend on it.
    preserve_insertion_order: "true",
    // Nothing is fetched from the network: every reader we use is built in.
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
    // DuckDB keeps the buffers it has used up to its limit (80% of RAM by default): a reader streaming a large file
    // grew with it. A reader needs a few buffers per thread.
    memory_limit: options.memoryLimit,
  };
  if (options.tempDirectory) config.temp_directory = options.tempDirectory;
  return await (await load()).DuckDBInstance.create(":memory:", config);
}

async function connected(instance: DuckDBInstance, release: () => Promise<void>): Promise<DuckDB> {
  let connection: DuckDBConnection;
  try {
    connection = await instance.connect();
  } catch (err) {
    await release();
    throw err;
  }
  let closed = false;
  return {
    connection,
    async close() {
      if (closed) return;
      closed = true;
      if (!(await settle(connection))) {
        // Freeing it under work still running would crash the process: leave it to the process's end.
        log.warn("a DuckDB query did not stop when interrupted; its connection is left open", {
          waited_ms: CLOSE_WAIT_MS,
        });
        return;
      }
      connection.closeSync();
      await release();
    },
  };
}

/**
 * The column names and DuckDB types (as DuckDB spells them) a query returns, without running it.
 *
 * @example
 * ```ts
 * await describe(db.connection, "select 1.5 as x"); // [{ name: "x", type: "DECIMAL(2,1)" }]
 * ```
 */
export async function describe(connection: DuckDBConnection, sql: string): Promise<{ name: string; type: string }[]> {
  const result = await connection.run(`describe ${sql}`);
  const rows = await result.getRowObjectsJS();
  return rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
}

/** A string as a SQL literal. */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** A name as a SQL identifier. */
export function sqlName(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}
