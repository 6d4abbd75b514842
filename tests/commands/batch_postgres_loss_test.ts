/**
 * `score batch` reading Postgres whose connection is lost at each moment of
 * a job, on private servers: before the first read, between two reads
 * while the output holds the job, mid-stream, at the commit, and at moments
 * spread over the run. The job never exits 0 unless it read every row: it
 * exits 69 within seconds, commits nothing (a file output never appears)
 * and writes only log lines. SIGTERM ends it at once; a rerun is exactly
 * once.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { connectPostgres, type PgConnection } from "../../src/postgres/connect.ts";
import { pgError } from "../../src/postgres/pg_error.ts";
import { logLines, MODELS, ROOT, tempDir, waitUntil } from "../helpers.ts";
import { CAN_START_POSTGRES, type PrivatePostgres, startPostgres } from "../postgres/private_postgres.ts";
import { assertLogLinesOnly, endsWithin } from "./batch_process.ts";

/** Input rows, `BATCH` rows a read: a job streams them in well under a second on a fast machine (see `PACE_S`). */
const ROWS = 200_000;
const BATCH = 2_000;
/** How long a faulted job may run on after the fault before the test kills it (and fails). */
const FAULTED_EXIT_MS = 30_000;
/** Bound on its exit once the fault is done (the restart finished, the sessions ended). */
const EXIT_AFTER_FAULT_MS = 5_000;
/** Seconds the paced input (`rides_paced`) pauses at each batch: the whole stream lasts 100 of them. */
const PACE_S = 0.05;

/** `./score batch` scoring the private input's `table` into `output`, started in the background. */
function spawnBatch(input: PrivatePostgres, output: string[], table = "rides"): Deno.ChildProcess {
  const args = ["--model", join(MODELS, "ride-duration-linreg"), "--no-progress", "--batch-size", String(BATCH)];
  return new Deno.Command(join(ROOT, "score"), {
    args: ["batch", ...args, "--input", input.url, "--table", table, "--keep", "ride_id", ...output],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** A test's own connection to a private server; `query` waits out a restart. */
interface Admin {
  conn: PgConnection;
  query(text: string): Promise<Record<string, unknown>[]>;
  /** How many of the job's sessions match `where` (over pg_stat_activity). */
  sessions(where: string): Promise<number>;
}

async function adminOf(pg: PrivatePostgres): Promise<Admin> {
  const conn = await connectPostgres(pg.url, { retries: 8, applicationName: "test-admin" });
  const query = async (text: string) => {
    for (let attempt = 0;; attempt++) {
      try {
        return await conn.sql.unsafe(text) as unknown as Record<string, unknown>[];
      } catch (err) {
        // The pool reconnects on its next query once the server is back.
        const where = { host: "127.0.0.1", port: pg.port, database: "postgres", user: "postgres" };
        if (pgError(err, where).name !== "UnavailableError" || attempt >= 300) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const sessions = async (where: string) =>
    (await query(
      `select count(*)::int as n from pg_stat_activity where application_name = 'score' and ${where}`,
    ))[0].n as number;
  return { conn, query, sessions };
}

/** Holds `table` locked (access exclusive) in a transaction of its own until `release`. */
async function lockTable(pg: PrivatePostgres, table: string): Promise<{ release(): Promise<void> }> {
  const conn = await connectPostgres(pg.url, { applicationName: "test-lock" });
  await conn.sql.unsafe("begin");
  await conn.sql.unsafe(`lock table ${table} in access exclusive mode`);
  return {
    async release() {
      await conn.sql.unsafe("commit").catch(() => {}); // lost with a restart of its server: then already released
      await conn.close(0);
    },
  };
}

/** Where a job writes, and what "nothing committed" and "all committed" mean there. */
interface Output {
  name: string;
  args: string[];
  untouched(): Promise<void>;
  /** After a successful run: every row, once; it becomes what a later failed run leaves untouched. */
  complete(): Promise<void>;
}

Deno.test({
  name: "score batch: a Postgres input lost at any moment exits 69, commits nothing, prints no stack trace",
  ignore: !CAN_START_POSTGRES,
  async fn(t) {
    const [first, second] = await Promise.all([startPostgres(), startPostgres()]);
    await using a = first; // the input, and the output written in the same database
    await using b = second; // an output elsewhere, which the test can hold while the input goes away
    await using dir = await tempDir();
    const admin = await adminOf(a);
    const adminB = await adminOf(b);
    try {
      await admin.query(`create table rides as select g::int8 as ride_id, (g % 265)::int8 as "PULocationID",
        ((g * 7) % 265)::int8 as "DOLocationID", ((g % 200) / 10.0)::float8 as trip_distance
        from generate_series(1, ${ROWS}) g`);
      // The same rides, a pause at each batch's first: a fast machine streams the table itself before a fault lands.
      await admin.query(`create view rides_paced as select r.* from rides r
        cross join lateral (select pg_sleep(case when r.ride_id % ${BATCH} = 1 then ${PACE_S} else 0 end)) p`);
      await adminB.query(`create table preds (ride_id int8, duration float8, model_name text, model_version text,
        scored_at timestamptz)`);
      await adminB.query(
        "create table rejects (row int8, error text, data jsonb, model_name text, model_version text)",
      );

      const snapshot = async () =>
        (await admin.query(
          "select count(*)::int as n, count(distinct scored_at)::int as runs, max(scored_at) as at from preds",
        ))[0];
      let committed: Record<string, unknown> | undefined;
      const predsA: Output = {
        name: "Postgres, same database",
        args: ["--output", a.url, "--output-table", "preds", "--replace", "version"],
        async untouched() {
          assert.deepEqual(await snapshot(), committed, "the last complete run's rows, neither replaced nor added to");
        },
        async complete() {
          const now = await snapshot();
          assert.deepEqual([now.n, now.runs], [ROWS, 1], "every row once, of one run");
          committed = now;
        },
      };
      const emptyB = async () => {
        const [{ p, r }] = await adminB.query(
          "select (select count(*) from preds)::int as p, (select count(*) from rejects)::int as r",
        );
        assert.deepEqual([p, r], [0, 0], "nothing committed in the other database");
      };
      const predsB: Output = {
        name: "Postgres, another server",
        args: ["--output", b.url, "--output-table", "preds", "--replace", "version"],
        untouched: emptyB,
        complete: () => Promise.reject(new Error("not expected to complete")),
      };
      const out = join(dir.path, "out.csv");
      /** Each job starts with no file left by another. */
      const emptyDir = async () => {
        for await (const e of Deno.readDir(dir.path)) await Deno.remove(join(dir.path, e.name));
      };
      const noFile = async () => {
        const names = [];
        for await (const e of Deno.readDir(dir.path)) names.push(e.name);
        assert.deepEqual(names, [], "no output file, not even a temporary one");
      };
      const csv: Output = {
        name: "CSV",
        args: ["--output", out],
        untouched: noFile,
        async complete() {
          const lines = (await Deno.readTextFile(out)).trimEnd().split("\n");
          assert.equal(lines.length, ROWS + 1, "a header and every row");
          await Deno.remove(out);
        },
      };
      const csvRejectsB: Output = {
        name: "CSV, rejects to another server",
        args: ["--output", out, "--rejects", b.url, "--rejects-table", "rejects", "--replace", "version"],
        async untouched() {
          await noFile();
          await emptyB();
        },
        complete: () => Promise.reject(new Error("not expected to complete")),
      };

      const baseline = await endsWithin(spawnBatch(a, predsA.args), 120_000);
      assert.equal(baseline.code, 0, baseline.stderr);
      await predsA.complete();

      /** Runs a job into `output`: `fault` starts it (`start`) and returns once it has faulted it. */
      const faulted = async (output: Output, fault: (start: () => void) => Promise<void>, table?: string) => {
        await emptyDir();
        let child: Deno.ChildProcess | undefined;
        const start = () => void (child = spawnBatch(a, output.args, table));
        try {
          await fault(start);
        } catch (err) {
          child?.kill("SIGKILL");
          await child?.output();
          throw err;
        }
        const faultedAt = performance.now();
        const run = await endsWithin(child!, FAULTED_EXIT_MS);
        assertLogLinesOnly(run.stderr);
        return { ...run, afterFault: performance.now() - faultedAt };
      };
      const exits69 = async (output: Output, run: { code: number; stderr: string; afterFault: number }) => {
        assert.equal(run.code, 69, `exit 69, not ${run.code}:\n${run.stderr}`);
        // Most often it exits while the server is still restarting; the bound leaves room for a loaded machine.
        assert.ok(run.afterFault < EXIT_AFTER_FAULT_MS, `exited ${Math.round(run.afterFault)} ms after the fault`);
        const last = logLines(run.stderr).at(-1)!;
        assert.equal(last.code, "unavailable");
        assert.match(String(last.msg), /Postgres at 127\.0\.0\.1:\d+/);
        await output.untouched();
      };
      const cursorHeld = () => admin.sessions("query like 'select q.%' and wait_event = 'ClientRead'");

      const moments: { name: string; outputs: Output[]; table?: string; fault(start: () => void): Promise<void> }[] = [
        {
          name: "before the first read (the input table locked)",
          outputs: [predsA],
          async fault(start) {
            const lock = await lockTable(a, "rides");
            start();
            await waitUntil(
              async () => await admin.sessions("wait_event_type = 'Lock'") > 0,
              "the job's read to wait",
              60_000,
            );
            await a.restart();
            await lock.release();
          },
        },
        {
          name: "between two reads, while the output holds the job",
          outputs: [predsB, csvRejectsB],
          async fault(start) {
            // The first batch is read while the outputs open; an output waiting on a lock holds the job there.
            const lock = await lockTable(b, "preds, rejects");
            start();
            await waitUntil(
              async () => await adminB.sessions("wait_event_type = 'Lock'") > 0,
              "the output to wait",
              60_000,
            );
            await waitUntil(async () => await cursorHeld() > 0, "the input's first batch to be sent", 10_000);
            await a.restart();
            await lock.release();
          },
        },
        {
          name: "mid-stream (the output has taken some batches)",
          outputs: [predsA, csv],
          table: "rides_paced",
          async fault(start) {
            start();
            await waitUntil(
              async () => {
                const [{ n }] = await admin.query(`select coalesce(max(p.tuples_processed), 0)::int as n
                from pg_stat_progress_copy p join pg_stat_activity s using (pid) where s.application_name = 'score'`);
                if ((n as number) >= 5 * BATCH) return true;
                for await (const e of Deno.readDir(dir.path)) {
                  if (!e.name.endsWith(".tmp")) continue;
                  // Gone between the listing and now: not yet the file this waits for.
                  const size = (await Deno.stat(join(dir.path, e.name)).catch(() => undefined))?.size ?? 0;
                  if (size > 100_000) return true;
                }
                return false;
              },
              "some batches written",
              60_000,
            );
            await a.restart();
          },
        },
      ];
      for (const moment of moments) {
        for (const output of moment.outputs) {
          await t.step(`${moment.name}, output ${output.name}: exit 69, nothing committed`, async () => {
            const run = await faulted(output, moment.fault, moment.table);
            console.log(`  exit ${run.code} ${Math.round(run.afterFault)} ms after the restart`);
            await exits69(output, run);
          });
        }
      }

      await t.step("at the commit (the last row's insert held): exit 69, nothing committed", async () => {
        await admin.query(`create function hold_last() returns trigger language plpgsql as $$
          begin perform pg_sleep(60); return new; end $$`);
        await admin.query(
          `create trigger hold_last before insert on preds for each row when (new.ride_id = ${ROWS})
           execute function hold_last()`,
        );
        try {
          const run = await faulted(predsA, async (start) => {
            start();
            await waitUntil(
              async () => await admin.sessions("wait_event = 'PgSleep' and query ilike 'copy%'") > 0,
              "the last row's insert to be held",
              60_000,
            );
            await a.restart();
          });
          await exits69(predsA, run);
        } finally {
          await admin.query("drop trigger hold_last on preds");
        }
      });

      // The race itself: the job's sessions ended at moments spread over the run, each output in turn. Every run
      // either read all its rows and committed them, or exits 69 and committed nothing.
      await t.step("sessions ended at moments spread over the run: all rows, or exit 69 and nothing", async () => {
        const outcomes: string[] = [];
        for (const [i, delayMs] of [0, 150, 350, 600, 900, 1300].entries()) {
          const output = i % 2 === 0 ? predsA : csv;
          const run = await faulted(output, async (start) => {
            start();
            await waitUntil(async () => await admin.sessions("true") > 0, "the job to connect", 60_000);
            // The moment of the fault, not a wait for an event: each run is cut at another point of its work.
            await new Promise((r) => setTimeout(r, delayMs));
            await admin.query(
              "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'score'",
            );
          });
          outcomes.push(`${delayMs} ms: exit ${run.code}`);
          if (run.code === 0) await output.complete();
          else await exits69(output, run);
        }
        console.log(`  ${outcomes.join(", ")}`);
      });

      for (const output of [predsA, csv]) {
        await t.step(`SIGTERM mid-stream, output ${output.name}: exit 143 at once, nothing committed`, async () => {
          await emptyDir();
          const child = spawnBatch(a, output.args, "rides_paced");
          await waitUntil(
            async () => await cursorHeld() > 0 || await admin.sessions("query like 'copy%'") > 0,
            "the job to read",
            60_000,
          );
          child.kill("SIGTERM");
          const run = await endsWithin(child, 10_000);
          console.log(`  SIGTERM to exit: ${Math.round(run.ms)} ms`);
          assertLogLinesOnly(run.stderr);
          assert.equal(run.code, 143, run.stderr);
          // Under a second on an idle machine; the bound leaves room for a loaded one.
          assert.ok(run.ms < 2_000, `exited ${Math.round(run.ms)} ms after SIGTERM`);
          await output.untouched();
        });
      }

      await t.step("the rerun after all that is exactly once", async () => {
        const before = committed!.at as Date;
        const rerun = await endsWithin(spawnBatch(a, predsA.args), 120_000);
        assert.equal(rerun.code, 0, rerun.stderr);
        await predsA.complete();
        assert.ok((committed!.at as Date).getTime() > before.getTime(), "the rerun's rows replaced the last ones");
      });
    } finally {
      await admin.conn.close(0);
      await adminB.conn.close(0);
    }
  },
});
