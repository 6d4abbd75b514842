import assert from "node:assert/strict";
import { type Postable, WorkerReplies } from "../../src/commands/worker_replies.ts";

/** A worker that answers each question with its own name, after `delayMs` (never when undefined). */
function worker(
  replies: WorkerReplies<string>,
  name: string,
  delayMs: number | undefined,
  answered?: () => void,
): Postable {
  return {
    postMessage(m) {
      const { id } = m as { id: number };
      if (delayMs === undefined) return;
      setTimeout(() => {
        replies.answer(id, name);
        answered?.();
      }, delayMs);
    },
  };
}

Deno.test("WorkerReplies", async (t) => {
  await t.step("every worker's answer, as soon as the last has come", async () => {
    const replies = new WorkerReplies<string>();
    const start = performance.now();
    const got = await replies.ask(
      [worker(replies, "a", 0), worker(replies, "b", 20)],
      (id) => ({ type: "collect", id }),
      10_000,
    );
    assert.deepEqual(got.sort(), ["a", "b"]);
    assert.ok(performance.now() - start < 5_000, "did not wait for the bound");
  });

  await t.step(
    "a worker that does not answer: the others' answers at the bound; a late answer is dropped",
    async () => {
      const replies = new WorkerReplies<string>();
      const got = await replies.ask(
        [worker(replies, "a", 0), worker(replies, "silent", undefined), worker(replies, "late", 300)],
        (id) => ({ id }),
        100,
      );
      assert.deepEqual(got, ["a"]);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(got, ["a"], "the late answer went nowhere");
    },
  );

  await t.step("two questions at once keep their answers apart", async () => {
    const replies = new WorkerReplies<string>();
    const workers = [worker(replies, "a", 5), worker(replies, "b", 0)];
    const [first, second] = await Promise.all([
      replies.ask(workers, (id) => ({ id }), 10_000),
      replies.ask(workers, (id) => ({ id }), 10_000),
    ]);
    assert.deepEqual(first.sort(), ["a", "b"]);
    assert.deepEqual(second.sort(), ["a", "b"]);
  });

  await t.step("no workers: no answers, at once", async () => {
    assert.deepEqual(await new WorkerReplies<string>().ask([], (id) => ({ id }), 10_000), []);
  });
});
