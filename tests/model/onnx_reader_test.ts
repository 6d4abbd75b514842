/**
 * The ONNX reader against onnx-proto's decoding (protobufjs code generated
 * from onnx.proto): on every model the repository ships, every field the
 * reader knows comes out the same, and so do the facts score reads off a
 * graph; bytes that are not a model are refused.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { classLabels } from "../../src/model/class_labels.ts";
import { knownCategories } from "../../src/model/known_categories.ts";
import { decodeModel, encodeModel } from "../../src/model/onnx_proto.ts";
import { holdsText, type ModelProto, readModel } from "../../src/model/onnx_reader.ts";
import { ROOT } from "../helpers.ts";

async function* onnxFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) yield* onnxFiles(path);
    else if (e.name.endsWith(".onnx")) yield path;
  }
}

// Both shapes in one form: protobufjs puts defaults ("", 0, [], null) where the reader leaves a field undefined,
// and int64 values are Longs there, bigints here.
// deno-lint-ignore no-explicit-any
type Any = any;
const text = (v: Any) => v ?? "";
const list = (v: Any): Any[] => v ?? [];
const int = (v: Any) => (v == null ? "0" : v.toString());
const bytes = (
  v: Any,
) => (v == null || v.length === 0 ? "" : `${v.length}:${v.reduce((a: number, b: number) => (a * 31 + b) >>> 0, 7)}`);

function tensor(t: Any): Any {
  if (t == null) return null;
  return {
    name: text(t.name),
    dims: list(t.dims).map(int),
    dataType: t.dataType ?? 0,
    rawData: bytes(t.rawData),
    int32Data: list(t.int32Data),
    int64Data: list(t.int64Data).map(int),
    externalData: list(t.externalData).map((e: Any) => [text(e.key), text(e.value)]),
    dataLocation: t.dataLocation ?? 0,
  };
}

function sparse(s: Any): Any {
  return s == null ? null : { values: tensor(s.values), indices: tensor(s.indices) };
}

function value(v: Any): Any {
  const t = v.type?.tensorType;
  return {
    name: text(v.name),
    elemType: t?.elemType ?? null,
    dims: t?.shape?.dim?.map((d: Any) => [d.dimValue == null ? null : String(d.dimValue), d.dimParam ?? null]) ?? null,
  };
}

function node(n: Any): Any {
  return {
    name: text(n.name),
    opType: text(n.opType),
    domain: text(n.domain),
    input: list(n.input),
    output: list(n.output),
    attribute: list(n.attribute).map((a: Any) => ({
      name: text(a.name),
      f: a.f ?? 0,
      i: int(a.i),
      s: bytes(a.s),
      t: tensor(a.t),
      g: graph(a.g),
      sparseTensor: sparse(a.sparseTensor),
      floats: list(a.floats),
      ints: list(a.ints).map(int),
      strings: list(a.strings).map(bytes),
      tensors: list(a.tensors).map(tensor),
      graphs: list(a.graphs).map(graph),
      sparseTensors: list(a.sparseTensors).map(sparse),
    })),
  };
}

function graph(g: Any): Any {
  if (g == null) return null;
  return {
    node: list(g.node).map(node),
    initializer: list(g.initializer).map(tensor),
    sparseInitializer: list(g.sparseInitializer).map(sparse),
    input: list(g.input).map(value),
    output: list(g.output).map(value),
  };
}

function model(m: Any): Any {
  return { graph: graph(m.graph), functions: list(m.functions).map((f: Any) => list(f.node).map(node)) };
}

Deno.test("ONNX reader: every shipped model reads as onnx-proto decodes it", async (t) => {
  const files: string[] = [];
  for (const dir of ["models", "tests/fixtures"]) for await (const f of onnxFiles(join(ROOT, dir))) files.push(f);
  assert.ok(files.length >= 30, `found ${files.length} models`);
  for (const file of files.sort()) {
    await t.step(relative(ROOT, file), async () => {
      const b = await Deno.readFile(file);
      const ours = readModel(b);
      const theirs = decodeModel(b);
      assert.deepEqual(model(ours), model(theirs));
      // What score reads off the graph, from either decoding.
      const asOurs = theirs as unknown as ModelProto;
      assert.deepEqual(classLabels(ours), classLabels(asOurs));
      assert.deepEqual(knownCategories(ours), knownCategories(asOurs));
    });
  }
});

Deno.test("ONNX reader: integers at every width and runs of strings read as onnx-proto decodes them", async (t) => {
  const ints = ["0", "1", "127", "128", "562949953421311", "562949953421312", "9007199254740993", "-1", "-2"];
  const extremes = ["9223372036854775807", "-9223372036854775808"];
  const cases: [string, Any][] = [
    ["int64s of 1 to 10 bytes", { name: "ints", type: 7, ints: [...ints, ...extremes] }],
    ["one int", { name: "i", type: 2, i: "-562949953421312" }],
    ["strings, some empty", { name: "strings", type: 8, strings: ["", "a", "", "ünï", "b".repeat(300)].map(utf8) }],
    ["no strings", { name: "strings", type: 8, strings: [] }],
    [
      "a tensor's int32 and int64 data, and its dims",
      {
        name: "t",
        type: 4,
        t: { dims: ["2", "562949953421312"], dataType: 7, int32Data: [-1, 2147483647, -2147483648], int64Data: ints },
      },
    ],
  ];
  for (const [name, attribute] of cases) {
    await t.step(name, () => {
      const bytes = encodeModel({ graph: { node: [{ opType: "X", attribute: [attribute] }] } });
      assert.deepEqual(model(readModel(bytes)), model(decodeModel(bytes)));
    });
  }
  await t.step("an int32 written as a 5-byte varint wraps to 32 bits", () => {
    // graph (0x3a) > initializer (0x2a) > data type INT32 (0x10 6), int32_data (0x28) 2^32 - 1 in 5 bytes
    const tensor = [0x10, 6, 0x28, 0xff, 0xff, 0xff, 0xff, 0x0f];
    const bytes = new Uint8Array([0x3a, tensor.length + 2, 0x2a, tensor.length, ...tensor]);
    assert.deepEqual(readModel(bytes).graph!.initializer![0].int32Data, [-1]);
    assert.deepEqual(model(readModel(bytes)), model(decodeModel(bytes)));
  });
  await t.step("ints and floats packed and not, in runs another field breaks", () => {
    const varint = (n: bigint) => {
      const out: number[] = [];
      let v = BigInt.asUintN(64, n);
      do {
        const b = Number(v & 0x7fn);
        v >>= 7n;
        out.push(v === 0n ? b : b | 0x80);
      } while (v !== 0n);
      return out;
    };
    const f32 = (x: number) => [...new Uint8Array(new Float32Array([x]).buffer)];
    const ints = [0n, 1n, 300n, -1n, 562949953421312n];
    const floats = [0.5, -2, 1e-3];
    const packedInts = ints.flatMap(varint);
    const packedFloats = floats.flatMap(f32);
    const body = [
      ...[0x40, ...varint(ints[0]), 0x40, ...varint(ints[1])], // ints, unpacked
      ...[0x3d, ...f32(floats[0])], // floats, unpacked
      ...[0x0a, 1, 0x78], // name "x" between the runs
      ...[0x42, packedInts.length, ...packedInts], // ints, packed
      ...[0x3a, packedFloats.length, ...packedFloats], // floats, packed
      ...[0x40, ...varint(ints[4]), 0x3d, ...f32(floats[2])], // one of each, unpacked
      ...[0x4a, 1, 0x61, 0x4a, 0, 0x0a, 1, 0x79, 0x4a, 1, 0x62], // strings "a", "", then the name again, then "b"
    ];
    const attribute = [0x2a, body.length, ...body];
    const node = [0x0a, attribute.length, ...attribute];
    const bytes = new Uint8Array([0x3a, node.length, ...node]);
    const ours = readModel(bytes).graph!.node![0].attribute![0];
    assert.deepEqual(ours.ints!.map(String), [0, 1, ...ints, ints[4]].map(String));
    assert.deepEqual(ours.floats, [floats[0], ...floats.map(Math.fround), Math.fround(floats[2])]);
    assert.deepEqual(ours.strings!.map((b) => new TextDecoder().decode(b)), ["a", "", "b"]);
    assert.deepEqual(model(readModel(bytes)), model(decodeModel(bytes)));
  });
  await t.step("a packed list cut short fails when it is read", () => {
    // ints (field 8, packed) of 2 bytes whose last varint does not end
    const attribute = [0x0a, 1, 0x78, 0x42, 2, 0x01, 0x80];
    const bytes = new Uint8Array([
      0x3a,
      attribute.length + 4,
      0x0a,
      attribute.length + 2,
      0x2a,
      attribute.length,
      ...attribute,
    ]);
    const ours = readModel(bytes).graph!.node![0].attribute![0];
    assert.equal(ours.name, "x");
    assert.throws(() => ours.ints, RangeError);
  });
  await t.step("two runs of one attribute's strings, another field between them", () => {
    // protobufjs writes a repeated field's values together: the attributes' fields are spliced by hand. Each short
    // model below is graph (0x3a, length) > node (0x0a, length) > attribute (0x2a, length) > its fields, from byte 6.
    const fieldsOf = (attribute: Any) => encodeModel({ graph: { node: [{ attribute: [attribute] }] } }).subarray(6);
    const body = new Uint8Array([
      ...fieldsOf({ strings: ["x", "y"].map(utf8) }),
      ...fieldsOf({ name: "mid" }),
      ...fieldsOf({ strings: [utf8("z")] }),
    ]);
    const attribute = new Uint8Array([0x2a, body.length, ...body]);
    const node = new Uint8Array([0x0a, attribute.length, ...attribute]);
    const bytes = new Uint8Array([0x3a, node.length, ...node]);
    const ours = readModel(bytes).graph!.node![0].attribute![0];
    assert.equal(ours.name, "mid");
    assert.deepEqual(ours.strings!.map((s) => new TextDecoder().decode(s)), ["x", "y", "z"]);
    assert.deepEqual(model(readModel(bytes)), model(decodeModel(bytes)));
  });
});

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

Deno.test("ONNX reader: bytes that are not a model are refused", async (t) => {
  const cases: [string, Uint8Array][] = [
    ["a truncated length", new Uint8Array([0x3a, 0x10, 1, 2])],
    ["a varint that does not end", new Uint8Array([0x08, 0xff, 0xff])],
    ["field number 0", new Uint8Array([0x00, 0x01])],
    ["wire type 3 (groups)", new Uint8Array([0x0b])],
    ["text, not protobuf", new TextEncoder().encode("ride_id,PULocationID\n1,130\n")],
  ];
  for (const [name, b] of cases) {
    await t.step(name, () => assert.throws(() => readModel(b), RangeError));
  }
});

Deno.test("ONNX reader: whether a model's bytes hold a text", async (t) => {
  const b = (text: string) => new TextEncoder().encode(text);
  const cases: [string, Uint8Array, string, boolean][] = [
    ["at the start", b("ai.onnx.ml\x12\x01"), "ai.onnx.ml", true],
    ["at the very end", b("\x3a\x05xxai.onnx.ml"), "ai.onnx.ml", true],
    ["after false starts (its first byte again and again)", b("aaai.onnx.mai.onnx.ml"), "ai.onnx.ml", true],
    ["cut short by the end", b("xxai.onnx.m"), "ai.onnx.ml", false],
    ["absent", b("location is not here"), "ai.onnx.ml", false],
    ["empty bytes", new Uint8Array(0), "location", false],
  ];
  for (const [name, bytes, text, want] of cases) await t.step(name, () => assert.equal(holdsText(bytes, text), want));
  await t.step("a shipped model: the scikit-learn export names ai.onnx.ml, no external data", async () => {
    const model = await Deno.readFile(join(ROOT, "models", "ride-duration-linreg", "model.onnx"));
    assert.deepEqual([holdsText(model, "ai.onnx.ml"), holdsText(model, "location")], [true, false]);
  });
});
