/**
 * `./score batch` end to end, as a user runs it: real models, the shipped
 * real rides, outputs read back.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from "hyparquet";
import { cliArgs, FIXTURES, logLines, MODELS, ROOT, runScore, tempDir, waitUntil } from "../helpers.ts";
import { BROKEN_CSVS, goodRow, HEADER } from "../sources/broken_csvs.ts";

const LINREG = join(MODELS, "ride-duration-linreg");
const RIDES = join(ROOT, "data", "green_tripdata_2021-02.parquet");

/** Golden sklearn predictions by row of the original file. */
async function golden(name: string): Promise<Map<number, number>> {
  const text = await Deno.readTextFile(join(FIXTURES, "golden", `${name}.green_2021-02.csv`));
  const [header, ...lines] = text.trimEnd().split("\n");
  const cols = header.split(",");
  const row = cols.indexOf("row"), duration = cols.indexOf("duration");
  return new Map(lines.map((l) => l.split(",")).map((f) => [Number(f[row]), Number(f[duration])]));
}

Deno.test("score batch: Parquet -> Parquet on the shipped rides equals sklearn", async () => {
  await using dir = await tempDir();
  const output = join(dir.path, "predictions.parquet");
  const run = await runScore([
    "batch",
    ...cliArgs({
      "--model": LINREG,
      "--input": RIDES,
      "--output": output,
      "--keep": "lpep_pickup_datetime,PULocationID,DOLocationID,trip_distance",
    }),
  ]);
  assert.equal(run.code, 0, run.stderr);
  const done = logLines(run.stderr).find((l) => l.msg === "batch done") as Record<string, number>;
  assert.equal(done.output, output);
  assert.equal(done.read, 64_572);
  assert.equal(done.predicted + (done.rejected as number), 64_572);

  const file = await asyncBufferFromFile(output);
  const schema = parquetSchema(await parquetMetadataAsync(file)).children.map((
    c,
  ) => [c.element.name, c.element.type, c.element.logical_type?.type ?? c.element.converted_type]);
  assert.deepEqual(schema, [
    ["lpep_pickup_datetime", "INT64", "TIMESTAMP"],
    ["PULocationID", "INT64", "INT_64"],
    ["DOLocationID", "INT64", "INT_64"],
    ["trip_distance", "DOUBLE", undefined],
    ["duration", "DOUBLE", undefined],
    ["model_name", "BYTE_ARRAY", "UTF8"],
    ["model_version", "BYTE_ARRAY", "UTF8"],
  ]);
  const rows = await parquetReadObjects({ file });
  assert.equal(rows.length, done.predicted);
  assert.deepEqual(rows[0].lpep_pickup_datetime, new Date("2021-02-01T00:34:03Z"));
  assert.equal(rows[0].model_name, "ride-duration-linreg");
  // Every ride of the golden file (the course's 1-60 minute rides) has sklearn's prediction.
  const expected = await golden("ride-duration-linreg");
  assert.equal(done.rejected, 0, "the shipped rides have no bad row");
  let checked = 0;
  for (const [row, want] of expected) {
    const got = rows[row].duration as number;
    assert.ok(Math.abs(got - want) <= 1e-6 * Math.abs(want), `row ${row}: ${got} != ${want}`);
    checked++;
  }
  assert.ok(checked > 60_000);
});

Deno.test("score batch: CSV -> CSV keeps text columns unchanged", async () => {
  await using dir = await tempDir();
  const output = join(dir.path, "out.csv");
  const run = await runScore([
    "batch",
    ...cliArgs({
      "--model": LINREG,
      "--input": join(FIXTURES, "rides_small.csv"),
      "--output": output,
      "--keep": "row,lpep_pickup_datetime",
      "--batch-size": 64,
    }),
  ]);
  assert.equal(run.code, 0, run.stderr);
  const [header, ...lines] = (await Deno.readTextFile(output)).trimEnd().split("\n");
  assert.equal(header, "row,lpep_pickup_datetime,duration,model_name,model_version");
  assert.equal(lines.length, 200);
  const expected = await golden("ride-duration-linreg");
  const input = (await Deno.readTextFile(join(FIXTURES, "rides_small.csv"))).trimEnd().split("\n").slice(1);
  for (let i = 0; i < lines.length; i++) {
    const [row, pickup, duration] = lines[i].split(",");
    assert.equal(pickup, input[i].split(",")[1]);
    const want = expected.get(Number(row))!;
    assert.ok(Math.abs(Number(duration) - want) <= 1e-6 * want, `row ${row}`);
  }
});

Deno.test("score batch: a file reader started ahead that the source does not take is let go: the job ends", async () => {
  await using dir = await tempDir();
  const input = join(dir.path, "x.csv");
  // Large enough for the job to start the file reader's worker ahead for it; a header the source refuses before it
  // takes the worker.
  await Deno.writeTextFile(input, "x,x\n" + "3.000000000,1\n".repeat(360_000));
  const run = await runScore([
    "batch",
    ...cliArgs({
      "--model": join(FIXTURES, "models", "gather_table"),
      "--input": input,
      "--output": join(dir.path, "y.csv"),
    }),
  ], { timeoutMs: 60_000 });
  assert.equal(run.code, 65, run.stderr);
  assert.match(String(logLines(run.stderr).at(-1)?.msg), /column "x" appears twice in the header/);
});

Deno.test("score batch: rejected rows and --max-errors", async (t) => {
  await using dir = await tempDir();
  const input = join(dir.path, "rides.csv");
  await Deno.writeTextFile(
    input,
    "PULocationID,DOLocationID,trip_distance\n10,50,40\n130,205,abc\n,205,1\n130,205,3.66\n",
  );
  await t.step("bad rows go to --rejects with row number and reason, good rows are scored", async () => {
    const output = join(dir.path, "out.jsonl");
    const rejects = join(dir.path, "rejects.csv");
    const run = await runScore([
      "batch",
      ...cliArgs({ "--model": LINREG, "--input": input, "--output": output, "--rejects": rejects }),
    ]);
    assert.equal(run.code, 0, run.stderr);
    const out = (await Deno.readTextFile(output)).trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(out.map((r) => r.duration), [26.43883355119793, 12.78553032985699]);
    const bad = (await Deno.readTextFile(rejects)).trimEnd().split("\n");
    assert.equal(bad[0], "row,error,data,model_name,model_version");
    assert.match(bad[1], /^2,"Cannot parse row 2: column ""trip_distance"" is not a number \(got ""abc""\)"/);
    assert.match(bad[2], /^3,"Cannot parse row 3: column ""PULocationID"" is missing \(expected an integer\)"/);
  });
  await t.step("over --max-errors: exit 65, nothing written, the first reason in the error", async () => {
    const output = join(dir.path, "over.jsonl");
    const rejects = join(dir.path, "over_rejects.csv");
    const run = await runScore([
      "batch",
      ...cliArgs({ "--model": LINREG, "--input": input, "--output": output, "--rejects": rejects, "--max-errors": 1 }),
    ]);
    assert.equal(run.code, 65, run.stderr);
    const [error] = logLines(run.stderr).filter((l) => l.level === "error").map((l) => l.msg as string);
    assert.match(
      error,
      /^Stopped after 2 rejected rows, more than --max-errors 1: nothing was written\. The first: Cannot parse row 2: column "trip_distance" is not a number/,
    );
    assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name).filter((n) => n.includes("over")), []);
  });
  await t.step("within --max-errors exits 0; without --rejects each reject is logged", async () => {
    const run = await runScore(["batch", "--model", LINREG, "--input", input, "--output", "-", "--max-errors", "2"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trimEnd().split("\n").length, 2);
    const warned = logLines(run.stderr).filter((l) => l.msg === "row rejected").map((l) => l.row);
    assert.deepEqual(warned, [2, 3]);
  });
});

Deno.test("score batch: clear errors and exit codes", async (t) => {
  await using dir = await tempDir();
  const junk = join(dir.path, "junk.onnx");
  await Deno.writeTextFile(junk, "not a model");
  const csv = join(dir.path, "in.csv");
  await Deno.writeTextFile(csv, "PULocationID,DOLocationID,trip_distance\n1,2,3\n");
  const folder = join(dir.path, "folder.csv");
  await Deno.mkdir(folder);
  const noInputs = join(dir.path, "wrong.csv");
  await Deno.writeTextFile(noInputs, "a,b\n1,2\n");
  const cases: [string, string[], number, RegExp][] = [
    ["model not found", ["--model", join(dir.path, "nope"), "--input", csv, "--output", "-"], 66, /Model not found/],
    ["bad model file", ["--model", junk, "--input", csv, "--output", "-"], 78, /Cannot load model/],
    [
      "missing input file",
      ["--model", LINREG, "--input", join(dir.path, "nope.parquet"), "--output", "-"],
      66,
      /Input file not found/,
    ],
    [
      "unknown format",
      ["--model", LINREG, "--input", join(dir.path, "in.txt"), "--output", "-"],
      64,
      /Cannot tell the format/,
    ],
    [
      "output folder missing",
      ["--model", LINREG, "--input", csv, "--output", join(dir.path, "no", "out.csv")],
      73,
      /^Cannot write --output ".*\/no\/out\.csv": folder ".*\/no" does not exist$/,
    ],
    [
      // Checked before the input is opened: the missing input is not reached.
      "output folder not writable",
      ["--model", LINREG, "--input", join(dir.path, "nope.csv"), "--output", "/sys/out.csv"],
      73,
      /^Cannot write --output "\/sys\/out\.csv": permission denied in folder "\/sys"$/,
    ],
    [
      "output is a folder",
      ["--model", LINREG, "--input", csv, "--output", folder],
      73,
      /^Cannot write --output ".*\/folder\.csv": it is a folder$/,
    ],
    [
      "output folder is a file",
      ["--model", LINREG, "--input", csv, "--output", join(csv, "out.csv")],
      73,
      /^Cannot write --output ".*\/in\.csv\/out\.csv": ".*\/in\.csv" is not a folder$/,
    ],
    [
      "rejects not writable",
      ["--model", LINREG, "--input", csv, "--output", "-", "--rejects", "/sys/rejects.jsonl"],
      73,
      /^Cannot write --rejects "\/sys\/rejects\.jsonl": permission denied in folder "\/sys"$/,
    ],
    [
      "missing input columns",
      ["--model", LINREG, "--input", noInputs, "--output", "-"],
      65,
      /Missing input columns for model "ride-duration-linreg": "PULocationID", "DOLocationID", "trip_distance" \(columns present: "a", "b"\)/,
    ],
    ["missing required flag", ["--model", LINREG, "--input", csv], 64, /--output is required/],
  ];
  for (const [name, args, code, message] of cases) {
    await t.step(name, async () => {
      const run = await runScore(["batch", ...args]);
      assert.equal(run.code, code, run.stderr);
      const errors = logLines(run.stderr).filter((l) => l.level === "error").map((l) => l.msg as string);
      assert.match(errors.length > 0 ? errors.join("\n") : run.stderr, message);
      assert.doesNotMatch(run.stderr, /^\s+at /m, "no stack trace");
    });
  }
});

Deno.test("score batch: a row the model fails on is rejected alone with onnxruntime's message; stderr stays JSON", async () => {
  await using dir = await tempDir();
  // y = 10 * x for x in [0, 10); onnxruntime fails the whole run on any other x.
  const input = join(dir.path, "in.csv");
  await Deno.writeTextFile(input, "id,x\na,1\nb,2\nc,99\nd,3\n");
  const output = join(dir.path, "out.csv"), rejects = join(dir.path, "rejects.jsonl");
  const run = await runScore([
    "batch",
    ...cliArgs({
      "--model": join(FIXTURES, "models", "gather_table"),
      "--input": input,
      "--output": output,
      "--rejects": rejects,
      "--keep": "id",
      "--no-progress": true,
    }),
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(
    await Deno.readTextFile(output),
    [
      "id,y,model_name,model_version",
      ...[["a", 10], ["b", 20], ["d", 30]].map(([id, y]) => `${id},${y},gather_table,16b3d017c4c6`),
      "",
    ].join("\n"),
  );
  const [reject, ...more] = (await Deno.readTextFile(rejects)).trimEnd().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(more, []);
  assert.deepEqual([reject.row, reject.data], [3, { x: 99, id: "c" }]);
  assert.match(
    reject.error,
    /^Cannot score row 3: Model "gather_table" failed to run: .*indices element out of data bounds, idx=99 must be within the inclusive range \[-10,9\]$/,
  );
  for (const line of run.stderr.trimEnd().split("\n")) assert.doesNotThrow(() => JSON.parse(line), line);
  assert.deepEqual(logLines(run.stderr).find((l) => l.msg === "batch done")?.rejected, 1);
});

Deno.test("score batch: two flags naming one file are refused with exit 64, nothing written", async (t) => {
  await using dir = await tempDir();
  const rides = "PULocationID,DOLocationID,trip_distance\n10,50,40\n130,205,abc\n";
  const input = join(dir.path, "in.csv");
  await Deno.writeTextFile(input, rides);
  await Deno.symlink(input, join(dir.path, "link.csv"));
  await Deno.link(input, join(dir.path, "hard.csv"));
  await Deno.mkdir(join(dir.path, "out"));
  const before = [...Deno.readDirSync(dir.path)].map((e) => e.name).sort();
  const backfill = ["--period", "day", "--backfill", "--from", "2021-02-01", "--to", "2021-02-03"];
  const cases: [string, string[], RegExp][] = [
    ["--output is the input", ["--output", "in.csv"], /^--input and --output name the same file \("in.csv", that is /],
    [
      "--rejects is the input",
      ["--output", "o.csv", "--rejects", "./in.csv"],
      /^--input and --rejects name the same file \("in.csv" and ".\/in.csv", that is /,
    ],
    [
      "--output is --rejects",
      ["--output", "o.csv", "--rejects", "out/../o.csv"],
      /^--output and --rejects name the same file \("o.csv" and "out\/..\/o.csv", that is .*o.csv\)/,
    ],
    [
      "a link to the input",
      ["--output", "link.csv"],
      /^--input and --output name the same file \("in.csv" and "link.csv"/,
    ],
    ["a hard link to the input", ["--rejects", "hard.csv", "--output", "o.csv"], /^--input and --rejects name/],
    [
      "each window's names",
      ["--output", "out/{window}.csv", "--rejects", "out/{window}.csv", ...backfill],
      /^--output and --rejects name the same file \("out\/2021-02-01.csv", that is /,
    ],
    [
      "--monitor-output is --output",
      ["--output", "o.csv", "--monitor", "ref.json", "--monitor-output", "./o.csv"],
      /^--output and --monitor-output name the same file \("o.csv" and ".\/o.csv", that is /,
    ],
    [
      "--monitor-report is the input",
      ["--output", "o.csv", "--monitor", "ref.json", "--monitor-report", "in.csv"],
      /^--input and --monitor-report name the same file \("in.csv", that is /,
    ],
  ];
  for (const [name, args, message] of cases) {
    await t.step(name, async () => {
      const run = await runScore(["batch", "--model", LINREG, "--input", "in.csv", "--no-progress", ...args], {
        cwd: dir.path,
      });
      assert.equal(run.code, 64, run.stderr);
      const errors = logLines(run.stderr).filter((l) => l.level === "error").map((l) => l.msg as string);
      assert.match(errors.join("\n"), message);
      assert.equal(await Deno.readTextFile(input), rides);
      assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name).sort(), before);
      assert.deepEqual([...Deno.readDirSync(join(dir.path, "out"))], []);
    });
  }
});

Deno.test("score: --help for every command", async (t) => {
  const top = await runScore(["--help"]);
  assert.equal(top.code, 0);
  const commands = [...top.stdout.matchAll(/^ {2}(\w+) \[options\]/gm)].map((m) => m[1]);
  assert.ok(commands.includes("batch"));
  for (const cmd of commands) {
    await t.step(cmd, async () => {
      const run = await runScore([cmd, "--help"]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`Usage: score ${cmd}`));
      assert.match(run.stdout, /--help/);
    });
  }
});

Deno.test("score batch: SIGTERM stops the job between batches, leaves no file, exits 143", async (t) => {
  // A Parquet output's rows are staged by its writer's worker: stopping it must leave nothing either.
  for (const format of ["csv", "parquet"]) await t.step(`to ${format}`, () => sigtermRun(format));
});

async function sigtermRun(format: string): Promise<void> {
  await using dir = await tempDir();
  const input = join(dir.path, "rides.csv");
  await Deno.writeTextFile(input, "PULocationID,DOLocationID,trip_distance\n" + "130,205,3.66\n".repeat(400_000));
  const output = join(dir.path, `out.${format}`);
  const child = new Deno.Command(join(ROOT, "score"), {
    args: ["batch", "--model", LINREG, "--input", input, "--output", output, "--batch-size", "20", "--no-progress"],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // Signal once the job is writing: its temporary output file exists.
  try {
    await waitUntil(
      () => [...Deno.readDirSync(dir.path)].some((e) => e.name.endsWith(".tmp")),
      "the temporary output file",
      30_000,
    );
  } finally {
    child.kill("SIGTERM");
  }
  const { code, stderr } = await child.output();
  const errors = logLines(new TextDecoder().decode(stderr)).filter((l) => l.level === "error");
  assert.equal(code, 143, JSON.stringify(errors));
  assert.match(
    errors[0].msg as string,
    /^Interrupted by SIGTERM: the run in progress was stopped and nothing of it was committed/,
  );
  assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name), ["rides.csv"]);
}

Deno.test("score batch: models people bring, as a user runs them", async (t) => {
  await using dir = await tempDir();
  const byom = join(FIXTURES, "models", "byom");
  await t.step("a ZipMap classifier: JSON lines with lists in, one column per class out, logs stay JSON", async () => {
    const input = join(dir.path, "flowers.jsonl");
    await Deno.writeTextFile(
      input,
      '{"id": "a", "float_input": [1, 2, 3]}\n{"id": "b", "float_input": [3, -1, 0.5]}\n',
    );
    const output = join(dir.path, "flowers.csv");
    const run = await runScore(
      ["batch", "--model", join(byom, "zipmap_strings"), "--input", input, "--output", output, "--keep", "id"],
    );
    assert.equal(run.code, 0, run.stderr);
    // onnxruntime's own warnings would be raw text amid the JSON log lines.
    assert.deepEqual(run.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("{")), []);
    const [header, ...lines] = (await Deno.readTextFile(output)).trimEnd().split("\n");
    assert.equal(
      header,
      "id,output_label,output_probability_setosa,output_probability_versicolor,output_probability_virginica," +
        "model_name,model_version",
    );
    assert.deepEqual(lines.map((l) => l.split(",").slice(0, 2)), [["a", "versicolor"], ["b", "setosa"]]);
  });
  await t.step("declared output shapes that are wrong: the real columns, no warning on stderr", async () => {
    const input = join(dir.path, "x.csv");
    await Deno.writeTextFile(input, "x_0,x_1\n1,2\n5,-3\n");
    const output = join(dir.path, "x.jsonl");
    const run = await runScore(["batch", "--model", join(byom, "wrong_shape"), "--input", input, "--output", output]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("{")), []);
    const rows = (await Deno.readTextFile(output)).trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(rows.map((r) => [r.scores_0, r.scores_1, r.label]), [[2, 4, 1], [10, -6, 0]]);
  });
  await t.step("a dynamic width without the manifest's columns: exit 78 naming the input and the key", async () => {
    const bare = join(dir.path, "dynamic.onnx");
    await Deno.copyFile(join(byom, "dynamic_k", "model.onnx"), bare);
    const input = join(dir.path, "x.csv");
    const run = await runScore(["batch", "--model", bare, "--input", input, "--output", join(dir.path, "o.csv")]);
    assert.equal(run.code, 78);
    assert.match(run.stderr, /Input \\"x\\".*its width is dynamic.*\\"columns\\"/);
  });
});

Deno.test("score batch: a CSV row that breaks the format is rejected alone, every other row scored", async (t) => {
  await using dir = await tempDir();
  const score = async (name: string, text: string, flags: Record<string, string | number> = {}) => {
    const input = join(dir.path, `${name}.csv`);
    await Deno.writeTextFile(input, text);
    const output = join(dir.path, `${name}_out.csv`);
    const rejects = join(dir.path, `${name}_rejects.csv`);
    const run = await runScore([
      "batch",
      ...cliArgs({ "--model": LINREG, "--input": input, "--output": output, "--rejects": rejects, "--keep": "row" }),
      ...cliArgs(flags),
    ]);
    const lines = async (path: string) => (await Deno.readTextFile(path)).trimEnd().split("\n").slice(1);
    return { run, output: () => lines(output), rejects: () => lines(rejects) };
  };
  // The predictions of the same rows, every one well formed.
  const clean = await score("clean", [HEADER, ...Array.from({ length: 30_000 }, (_, i) => goodRow(i))].join("\n"));
  assert.equal(clean.run.code, 0, clean.run.stderr);
  const expected = new Map((await clean.output()).map((l) => l.split(",")).map(([row, duration]) => [row, duration]));
  assert.equal(expected.size, 30_000);
  for (const [n, file] of BROKEN_CSVS.entries()) {
    await t.step(file.name, async () => {
      const { run, output, rejects } = await score(`broken_${n}`, file.text);
      assert.equal(run.code, 0, run.stderr);
      const done = logLines(run.stderr).find((l) => l.msg === "batch done") as Record<string, number>;
      assert.deepEqual([done.read, done.predicted, done.rejected], [
        file.rows,
        file.rows - file.rejects.length,
        file.rejects.length,
      ]);
      const rejected = (await rejects()).map((l) => l.split(",", 2));
      assert.deepEqual(rejected.map(([row]) => Number(row)), file.rejects.map(([row]) => row + 1));
      rejected.forEach(([row, error]) => assert.match(error, new RegExp(`^"?Cannot parse row ${row}: `)));
      const bad = new Set(file.rejects.map(([row]) => String(row)));
      const want = [...expected].filter(([row]) => !bad.has(row));
      const got = (await output()).map((l) => l.split(",").slice(0, 2));
      assert.equal(got.length, want.length);
      assert.deepEqual(got.filter(([row, duration], i) => row !== want[i][0] || duration !== want[i][1]), []);
    });
  }
  await t.step("on standard input (read in JavaScript from the first row)", async () => {
    const file = BROKEN_CSVS[0];
    const output = join(dir.path, "stdin_out.csv");
    const child = new Deno.Command(join(ROOT, "score"), {
      args: [
        "batch",
        ...cliArgs({ "--model": LINREG, "--input": "-", "--input-format": "csv", "--output": output, "--keep": "row" }),
      ],
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(file.text));
    await writer.close();
    const run = await child.output();
    const stderr = new TextDecoder().decode(run.stderr);
    assert.equal(run.code, 0, stderr);
    const done = logLines(stderr).find((l) => l.msg === "batch done") as Record<string, number>;
    assert.deepEqual([done.read, done.predicted, done.rejected], [30_000, 29_999, 1]);
    const warned = logLines(stderr).filter((l) => l.msg === "row rejected").map((l) => [l.row, l.error]);
    assert.deepEqual(warned, [[
      11,
      "Cannot parse row 11: unterminated quote: the quote opened on this line never closes",
    ]]);
    const got = (await Deno.readTextFile(output)).trimEnd().split("\n").slice(1).map((l) => l.split(",").slice(0, 2));
    assert.deepEqual(got, [...expected].filter(([row]) => row !== "10"));
  });
  await t.step("with --max-errors 0: exit 65 naming the row, nothing written", async () => {
    const { run } = await score("strict", BROKEN_CSVS[0].text, { "--max-errors": 0 });
    assert.equal(run.code, 65, run.stderr);
    assert.match(
      logLines(run.stderr).find((l) => l.level === "error")!.msg as string,
      /nothing was written\. The first: Cannot parse row 11: unterminated quote/,
    );
    assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name).filter((n) => n.startsWith("strict_")), []);
  });
});

Deno.test("score batch: class labels name the columns; unknown categories counted, or rejected when strict", async (t) => {
  await using dir = await tempDir();
  const byom = join(FIXTURES, "models", "byom");
  const labelled: [string, string, string][] = [
    ["svc_strings", "float_input", "label,probabilities_cat,probabilities_dog,probabilities_bird"],
    ["linear_int64_labels", "x", "label,probabilities_3,probabilities_7,probabilities_11"],
  ];
  for (const [name, input, header] of labelled) {
    await t.step(`${name}: <output>_<label> columns`, async () => {
      const csv = join(dir.path, `${name}.csv`);
      await Deno.writeTextFile(csv, `${input}_0,${input}_1,${input}_2\n1,0,0.5\n-1,-1,0\n`);
      const output = join(dir.path, `${name}_out.csv`);
      const run = await runScore(["batch", "--model", join(byom, name), "--input", csv, "--output", output]);
      assert.equal(run.code, 0, run.stderr);
      const [head, ...lines] = (await Deno.readTextFile(output)).trimEnd().split("\n");
      assert.equal(head, `${header},model_name,model_version`);
      assert.equal(lines.length, 2);
    });
  }
  const rows = join(dir.path, "onehot.csv");
  await Deno.writeTextFile(rows, "color,zone,distance\nred,10,1\npurple,10,2\nblue,99,3\ngreen,20,4\n");
  await t.step("by default every row is scored; the summary counts the rows with unknown categories", async () => {
    const run = await runScore(["batch", "--model", join(byom, "onehot"), "--input", rows, "--output", "-"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trimEnd().split("\n").length, 4);
    const done = logLines(run.stderr).find((l) => l.msg === "batch done")!;
    assert.deepEqual([done.predicted, done.rejected, done.unknown_categories], [4, 0, 2]);
  });
  const strict: [string, string[], Record<string, string>][] = [
    ["--strict-categories", ["--strict-categories"], {}],
    ["SCORE_STRICT_CATEGORIES", [], { SCORE_STRICT_CATEGORIES: "1" }],
  ];
  for (const [name, flags, env] of strict) {
    await t.step(`${name}: such rows go to --rejects naming column and value`, async () => {
      const output = join(dir.path, "strict.jsonl");
      const rejects = join(dir.path, "strict_rejects.csv");
      const run = await runScore(
        ["batch", "--model", join(byom, "onehot"), "--input", rows, "--output", output, "--rejects", rejects, ...flags],
        { env },
      );
      assert.equal(run.code, 0, run.stderr);
      const out = (await Deno.readTextFile(output)).trimEnd().split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(out.map((r) => r.variable), [11.5, 24]);
      const bad = (await Deno.readTextFile(rejects)).trimEnd().split("\n");
      assert.equal(bad.length, 3);
      assert.match(
        bad[1],
        /^2,"Cannot score row 2: column ""color"" has category ""purple"" the model has never seen"/,
      );
      assert.match(bad[2], /^3,"Cannot score row 3: column ""zone"" has category ""99"" the model has never seen"/);
      const done = logLines(run.stderr).find((l) => l.msg === "batch done")!;
      assert.deepEqual([done.predicted, done.rejected, done.unknown_categories], [2, 2, 2]);
    });
  }
  await t.step("--help of batch, serve and consume shows the flag and its variable", async () => {
    for (const command of ["batch", "serve", "consume"]) {
      const help = await runScore([command, "--help"]);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /--strict-categories/, command);
      assert.match(help.stdout, /SCORE_STRICT_CATEGORIES/, command);
    }
  });
});

Deno.test("score batch: a standard output closed by its reader", async (t) => {
  await using dir = await tempDir();
  const input = join(dir.path, "rides.csv");
  // Rejects enough to fill the pipe, so the job is still writing when the reader goes.
  await Deno.writeTextFile(
    input,
    "PULocationID,DOLocationID,trip_distance\n" + "130,205,abc\n".repeat(30_000) + "130,205,3.66\n".repeat(3_000),
  );
  const output = join(dir.path, "out.csv");
  const cases: [string, string[], number, RegExp | undefined][] = [
    ["carrying the predictions (| head): a normal end", ["--output", "-", "--output-format", "csv"], 0, undefined],
    [
      "carrying the rejects: the predictions are not committed, and the job fails saying so",
      ["--output", output, "--rejects", "-"],
      73,
      /^Standard output \(--rejects -\) was closed by its reader before every reject was written: nothing was committed/,
    ],
  ];
  for (const [name, args, exit, message] of cases) {
    await t.step(name, async () => {
      const child = new Deno.Command(join(ROOT, "score"), {
        args: ["batch", "--model", LINREG, "--input", input, ...args, "--batch-size", "1000", "--no-progress"],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const reader = child.stdout.getReader();
      await reader.read();
      await reader.cancel();
      const [{ code }, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
      const errors = logLines(stderr).filter((l) => l.level === "error");
      assert.equal(code, exit, JSON.stringify(errors));
      if (message) assert.match(errors[0].msg as string, message);
      else assert.deepEqual(errors, []);
      assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name), ["rides.csv"]);
    });
  }
});
