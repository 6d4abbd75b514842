/**
 * The ack window: one multiple ack for the settled run from the oldest open
 * delivery, single acks behind an event still in flight, never an ack over
 * an unsettled or nacked delivery.
 */
import assert from "node:assert/strict";
import { AckWindow, type Delivery } from "../../src/queue/ack_window.ts";

const d = (tag: number): Delivery => ({ fields: { deliveryTag: tag } });

/** A window over tags 1..n, and the acks it sends as `tag` or `tag+` (multiple). */
function windowOf(n: number) {
  const sent: string[] = [];
  const window = new AckWindow<Delivery>({ ack: (m, all) => sent.push(`${m.fields.deliveryTag}${all ? "+" : ""}`) });
  const deliveries = Array.from({ length: n }, (_, i) => d(i + 1));
  deliveries.forEach((m) => window.delivered(m));
  return { window, sent, at: (tag: number) => deliveries[tag - 1] };
}

Deno.test("ack window", async (t) => {
  const cases: { name: string; acked: number[]; forgotten?: number[]; n: number; sent: string[] }[] = [
    { name: "all settled, in any order: one multiple ack", n: 5, acked: [3, 1, 5, 2, 4], sent: ["5+"] },
    { name: "the oldest still in flight: each settled one acked alone", n: 4, acked: [2, 4], sent: ["2", "4"] },
    { name: "a run, then a gap: the run in one frame, the rest alone", n: 5, acked: [1, 2, 4], sent: ["2+", "4"] },
    { name: "a nacked one in the run is passed over", n: 4, forgotten: [2], acked: [1, 3, 4], sent: ["4+"] },
    { name: "nothing settled: nothing sent", n: 3, acked: [], sent: [] },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const { window, sent, at } = windowOf(c.n);
      for (const tag of c.forgotten ?? []) window.forget(at(tag));
      for (const tag of c.acked) window.ack(at(tag));
      window.flush();
      assert.deepEqual(sent, c.sent);
    });
  }

  await t.step("acked alone, then passed by a later run: not acked twice", () => {
    const { window, sent, at } = windowOf(3);
    window.ack(at(2));
    window.flush();
    window.ack(at(1));
    window.ack(at(3));
    window.flush();
    assert.deepEqual(sent, ["2", "3+"]);
  });

  await t.step("the acks of one tick leave at its end, together", async () => {
    const { window, sent, at } = windowOf(3);
    window.ack(at(1));
    window.ack(at(2));
    assert.deepEqual(sent, [], "not at once");
    await new Promise((resolve) => setTimeout(resolve, 0));
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.deepEqual(sent, ["2+"]);
  });

  await t.step("closed: nothing more is sent", () => {
    const { window, sent, at } = windowOf(2);
    window.ack(at(1));
    window.close();
    window.flush();
    assert.deepEqual(sent, []);
  });
});
