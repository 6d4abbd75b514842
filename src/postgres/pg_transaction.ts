/**
 * One Postgres transaction that one or more sinks write through. A batch
 * job's predictions and its rejects go to the same database: sharing one
 * transaction makes a window's new predictions and new rejects visible
 * together, or neither (a job killed in between leaves the old ones).
 *
 * A connection carries one COPY at a time, so the transaction keeps the
 * COPY of the table last written open (batches stream in while the next
 * is scored) and switches only when another table is written or a
 * statement runs: rejects are rare, switches are too.
 */
import type { ColumnInfo, RowBatch } from "../rows.ts";
import {
  type ConnectOptions,
  connectPostgres,
  type PgConnection,
  type PgTarget,
  resolveTarget,
  type Sql,
} from "./connect.ts";
import { type CopyWriter, openCopy } from "./copy_rows.ts";
import { reserveConnection, type ReservedConnection } from "./postgres_js_internals.ts";

/**
 * A lazily opened transaction. `commit` and `rollback` end it once, so
 * each sharing sink may call them.
 *
 * @example
 * ```ts
 * const tx = new PgTransaction("postgres://postgres@127.0.0.1:5432/test");
 * await tx.begin();
 * await tx.execute("delete from predictions where model_version = $1", ["v1"]);
 * await tx.write("predictions", columns, batch);
 * await tx.commit();
 * ```
 */
export class PgTransaction {
  readonly target: PgTarget;
  readonly #url: string | undefined;
  readonly #connect: ConnectOptions;
  #conn: Promise<PgConnection> | undefined;
  #txConn: Promise<PgConnection> | undefined;
  #tx: ReservedConnection | undefined;
  #copy: { table: string; columns: ColumnInfo[]; writer: CopyWriter } | undefined;
  #outcome: "committed" | "rolled back" | undefined;
  /** Why the transaction's connection dropped: nothing more may be sent on it. */
  #lost: Error | undefined;
  #busy = 0;

  constructor(url?: string, connect: ConnectOptions = {}) {
    this.target = resolveTarget(url);
    this.#url = url;
    this.#connect = connect;
  }

  /** The pool, for statements that must not wait for this transaction (creating a table). */
  connection(): Promise<PgConnection> {
    this.#conn ??= connectPostgres(this.#url, { ...this.#connect, max: 1 });
    return this.#conn;
  }

  /** Starts the transaction (once). */
  async begin(): Promise<void> {
    if (this.#outcome) throw new Error(`postgres transaction: begin after it was ${this.#outcome}`);
    if (this.#tx) return;
    // A pool of its own, so a drop of its one connection is the transaction's.
    this.#txConn ??= connectPostgres(this.#url, { ...this.#connect, max: 1 });
    const conn = await this.#txConn;
    conn.onLoss((err) => this.#lost ??= err);
    const tx = await conn.guard(reserveConnection(conn.sql));
    this.#tx = tx;
    await this.#send(() => tx.unsafe("begin"));
  }

  /** Runs a statement inside the transaction (after ending any open COPY). */
  async execute(query: string, params: unknown[] = []): Promise<unknown[]> {
    const tx = await this.#ready();
    await this.#endCopy();
    return await this.#send(() => tx.unsafe(query, params as never[])) as unknown as unknown[];
  }

  /** Streams a batch into `table` through a COPY kept open until another table or statement needs the connection. */
  async write(table: string, columns: ColumnInfo[], batch: RowBatch): Promise<void> {
    const tx = await this.#ready();
    if (this.#copy && (this.#copy.table !== table || this.#copy.columns !== columns)) await this.#endCopy();
    this.#copy ??= { table, columns, writer: await this.#send(() => openCopy(tx, table, columns)) };
    const writer = this.#copy.writer;
    await this.#send(() => writer.write(batch));
  }

  /**
   * Ends the COPY, commits and closes; a later call does nothing. After a
   * rollback it throws: a sharing sink must not believe its rows landed.
   */
  async commit(): Promise<void> {
    if (this.#outcome === "committed") return;
    if (this.#outcome === "rolled back") throw new Error("postgres transaction: commit after it was rolled back");
    try {
      const tx = await this.#ready();
      await this.#endCopy();
      await this.#send(() => tx.unsafe("commit"));
      this.#outcome = "committed";
    } finally {
      if (this.#outcome === "committed") await this.#close();
      else await this.rollback();
    }
  }

  /**
   * Abandons everything written and closes, within a few seconds whatever
   * is pending; a later call, or one after commit, does nothing.
   */
  async rollback(): Promise<void> {
    if (this.#outcome) return;
    this.#outcome = "rolled back";
    const copy = this.#copy;
    this.#copy = undefined;
    // Closing the connection rolls back too; an explicit rollback makes it prompt when the
    // connection is idle. A lost or busy one is only closed: nothing may queue behind a wait.
    // Each step is its own send: the connection may drop during the first, and nothing may be sent after.
    if (this.#tx && !this.#lost && this.#busy === 0) {
      const tx = this.#tx;
      if (copy) await this.#send(() => copy.writer.cancel()).catch(() => {});
      await this.#send(() => tx.unsafe("rollback"), ROLLBACK_MS).catch(() => {});
    }
    // Nothing is left to finish: whatever is still in flight is dropped.
    await this.#close(true);
  }

  async #ready(): Promise<Sql> {
    await this.begin();
    return this.#tx!;
  }

  async #endCopy() {
    const copy = this.#copy;
    this.#copy = undefined;
    if (copy) await this.#send(() => copy.writer.end());
  }

  /**
   * Sends on the transaction's connection unless it dropped, and settles
   * as soon as it drops: a reserved postgres.js connection that lost its
   * socket neither answers nor fails a query sent on it.
   */
  async #send<T>(work: () => Promise<T>, timeoutMs?: number): Promise<T> {
    if (this.#lost) throw this.#lost;
    const conn = await this.#txConn!;
    this.#busy++;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const bounded = timeoutMs === undefined ? work() : Promise.race([
        work(),
        new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error("timed out")), timeoutMs)),
      ]);
      return await conn.guard(bounded);
    } finally {
      clearTimeout(timer);
      this.#busy--;
    }
  }

  /** Releases and ends both pools; `now` does not wait for a statement in flight (a table being created). */
  async #close(now = false) {
    const tx = this.#tx;
    this.#tx = undefined;
    if (!this.#lost) tx?.release();
    const [conn, txConn] = await Promise.all([
      this.#conn?.catch(() => undefined),
      this.#txConn?.catch(() => undefined),
    ]);
    const timeout = now ? 0 : undefined;
    await Promise.all([conn?.close(timeout).catch(() => {}), txConn?.close(timeout).catch(() => {})]);
  }
}

/** How long an explicit rollback may take before the connection is simply closed. */
const ROLLBACK_MS = 2000;
