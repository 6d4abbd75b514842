/**
 * The consume examples of README.md and docs/consume.md, run as typed
 * against the real RabbitMQ (exchange and queue names made unique, the
 * commands otherwise unchanged): every line of their sample output is
 * what `examples/read_predictions.ts` prints.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { randomName, ROOT, waitUntil } from "../helpers.ts";
import { Consumer } from "../commands/consumer_process.ts";
import { AMQP_URL, TestBroker } from "../queue/broker.ts";

/** The first ```sh block after `heading`. */
async function docExample(file: string, heading: string): Promise<string> {
  const text = await Deno.readTextFile(join(ROOT, file));
  const at = text.indexOf(heading);
  assert.ok(at >= 0, `${file} has "${heading}"`);
  const start = text.indexOf("```sh\n", at) + "```sh\n".length;
  return text.slice(start, text.indexOf("```", start));
}

/** The block after `marker` (the sample output printed apart from the commands). */
async function docOutput(file: string, marker: string): Promise<string[]> {
  const text = await Deno.readTextFile(join(ROOT, file));
  const start = text.indexOf("```\n", text.indexOf(marker)) + 4;
  return text.slice(start, text.indexOf("```", start)).trim().split("\n");
}

interface Step {
  args: string[];
  background: boolean;
}

/** The block's commands (continuation lines joined, comments dropped), names replaced by `names`. */
function commands(block: string, names: Record<string, string>): Step[] {
  return block.replaceAll("\\\n", " ").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"))
    .map((line) => {
      const background = line.endsWith("&");
      const args = line.replace(/&$/, "").trim().split(/\s+/).map((a) => names[a] ?? a);
      return { args, background };
    });
}

async function run(steps: Step[], broker: TestBroker): Promise<{ printed: string[]; consumers: Consumer[] }> {
  const consumers: Consumer[] = [];
  const modelQueues: string[] = [];
  let printed: string[] = [];
  try {
    for (const { args, background } of steps) {
      assert.ok(args[0] === "./score" || args[0] === "./scripts/deno", `a command of the example: ${args.join(" ")}`);
      if (args[1] === "consume") {
        // Terminal 1 (or `&`): it runs until stopped; the next command waits until it consumes.
        const c = new Consumer(args.slice(2));
        consumers.push(c);
        const started = await c.waitForLog("consumer starting");
        broker.track({ queues: [started.queue, started.dead_letter_queue, started.prediction_queue].filter(Boolean) });
        modelQueues.push(started.queue);
        await c.waitForLog("consuming");
        continue;
      }
      assert.ok(!background, "only consumers run in the background");
      const out = await new Deno.Command(join(ROOT, args[0]), {
        args: args.slice(1),
        cwd: ROOT,
        env: { AMQP_URL },
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(60_000),
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, `${args.join(" ")}: ${stderr}`);
      printed = new TextDecoder().decode(out.stdout).trim().split("\n");
    }
    // As a worker left running would: every event published is scored before the workers stop.
    for (const q of modelQueues) await waitUntil(async () => await broker.count(q) === 0, `${q} empty`, 60_000);
  } finally {
    for (const c of consumers) assert.equal(await c.stop(), 0);
  }
  return { printed, consumers };
}

/** Unique names for the example's exchanges and queue, deleted at the end. */
function uniqueNames(broker: TestBroker): Record<string, string> {
  const names = {
    rides: randomName("rides"),
    predictions: randomName("predictions"),
    decisions: randomName("decisions"),
  };
  broker.track({ exchanges: [names.rides, names.predictions, `${names.rides}.dead-letter`] });
  return names;
}

/** Runs the README's quick start and checks it printed its sample output. */
async function readmeQuickStart(broker: TestBroker, names: Record<string, string>): Promise<void> {
  const block = await docExample("README.md", "### `score consume`");
  const sample = block.split("\n").filter((l) => l.startsWith("# {")).map((l) => l.slice(2));
  assert.equal(sample.length, 3, "the README shows 3 predictions");
  const { printed, consumers } = await run(commands(block, names), broker);
  assert.deepEqual(printed, sample);
  const stopped = consumers[0].logs.find((l) => l.msg === "consumer stopped")!;
  assert.equal(stopped.published, 1000);
  assert.equal(stopped.dead_lettered, 0);
}

Deno.test("README's score consume quick start, as typed, prints its sample output, and again on a second run", async () => {
  await using broker = await TestBroker.open();
  const names = uniqueNames(broker);
  // The first run leaves 997 predictions in the durable queue; the second starts by emptying it.
  await readmeQuickStart(broker, names);
  await readmeQuickStart(broker, names);
});

Deno.test("docs/consume.md walkthrough after the README's: two models, one decision queue, 2000 predictions", async () => {
  await using broker = await TestBroker.open();
  const names = uniqueNames(broker);
  await readmeQuickStart(broker, names);
  const block = await docExample("docs/consume.md", "## Walkthrough");
  const sample = await docOutput("docs/consume.md", "What arrives:");

  const { printed, consumers } = await run(commands(block, names), broker);
  assert.equal(printed.length, 2000);
  for (const line of sample) assert.ok(printed.includes(line), `printed: ${line}`);
  for (const c of consumers) {
    const stopped = c.logs.find((l) => l.msg === "consumer stopped")!;
    assert.equal(stopped.consumed, 1000);
    assert.equal(stopped.published, 1000);
    assert.equal(stopped.dead_lettered, 0);
  }
});

Deno.test("examples/read_predictions.ts --help prints its usage and exits 0; a bad flag exits 64 with it", async (t) => {
  for (
    const [args, code] of [[["--help"], 0], [["--queue", "q", "--limit", "many"], 64], [["--bogus"], 64]] as const
  ) {
    await t.step(args.join(" "), async () => {
      const out = await new Deno.Command(join(ROOT, "scripts", "deno"), {
        args: ["run", "-A", "examples/read_predictions.ts", ...args],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(code === 0 ? out.stdout : out.stderr);
      assert.equal(out.code, code, text);
      assert.match(text, /^(.*\n\n)?usage: read_predictions\.ts --queue <name>/);
      assert.doesNotMatch(text, /\bat file:/);
    });
  }
});
