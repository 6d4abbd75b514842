/**
 * Reads the parts of a `.onnx` file score looks at (the graph's nodes and
 * their attributes, its initializers, inputs and outputs, the functions'
 * nodes) straight from protobuf's wire format, without the protobuf
 * library: loading onnx-proto and protobufjs took longer than the decoding
 * itself, at every start of a command that opens a model. Fields it does not
 * know are skipped; int64 values are numbers below 2^49, else bigints; a
 * field that is absent is undefined. Rewriting a graph (`zipmap.ts`) still
 * goes through `onnx_proto.ts`, which encodes too.
 * `tests/model/onnx_reader_test.ts` holds it to onnx-proto's decoding on
 * every shipped model.
 *
 * @example
 * ```ts
 * const model = readModel(await Deno.readFile("model.onnx"));
 * model.graph?.node?.map((n) => n.opType); // ["Sub", "Concat", "ZipMap", ...]
 * ```
 */

/** A model: its graph and its functions. */
export interface ModelProto {
  graph?: GraphProto;
  functions?: FunctionProto[];
}

/** A graph (the model's, or a node's subgraph). */
export interface GraphProto {
  node?: NodeProto[];
  initializer?: TensorProto[];
  sparseInitializer?: SparseTensorProto[];
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
}

/** A function of the model: its nodes. */
export interface FunctionProto {
  node?: NodeProto[];
}

/** One node of a graph. */
export interface NodeProto {
  name?: string;
  opType?: string;
  domain?: string;
  input?: string[];
  output?: string[];
  attribute?: AttributeProto[];
}

/** A node's attribute. */
export interface AttributeProto {
  name?: string;
  f?: number;
  i?: number | bigint;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  sparseTensor?: SparseTensorProto;
  floats?: number[];
  ints?: (number | bigint)[];
  strings?: Uint8Array[];
  tensors?: TensorProto[];
  graphs?: GraphProto[];
  sparseTensors?: SparseTensorProto[];
}

/** A tensor stored in the graph (an initializer, or a Constant node's value). */
export interface TensorProto {
  name?: string;
  dims?: (number | bigint)[];
  dataType?: number;
  rawData?: Uint8Array;
  int32Data?: number[];
  int64Data?: (number | bigint)[];
  externalData?: { key?: string; value?: string }[];
  dataLocation?: number;
}

/** A sparse tensor: its values and their indices. */
export interface SparseTensorProto {
  values?: TensorProto;
  indices?: TensorProto;
}

/** A graph input or output: its name and type. */
export interface ValueInfoProto {
  name?: string;
  type?: {
    tensorType?: {
      elemType?: number;
      shape?: { dim?: { dimValue?: number | bigint; dimParam?: string }[] };
    };
  };
}

/** `TensorProto.DataType.FLOAT`. */
export const FLOAT = 1;
/** `TensorProto.DataType.INT32`. */
export const INT32 = 6;
/** `TensorProto.DataType.INT64`. */
export const INT64 = 7;
/** `TensorProto.DataType.STRING`. */
export const STRING = 8;
/** `TensorProto.DataLocation.EXTERNAL`. */
export const EXTERNAL = 1;

/**
 * Reads a `.onnx` file's model; throws on bytes that are not a protobuf message.
 *
 * @example
 * ```ts
 * readModel(bytes).graph?.output?.map((o) => o.name);
 * ```
 */
export function readModel(bytes: Uint8Array): ModelProto {
  const model: ModelProto = {};
  fields(bytes, (field, r) => {
    if (field === 7) model.graph = readGraph(r.bytes());
    else if (field === 25) (model.functions ??= []).push({ node: readFunctionNodes(r.bytes()) });
    else return false;
    return true;
  });
  return model;
}

/**
 * A node's attribute as plain values: strings for `strings`, decimal text
 * for `ints` (int64 kept exact), or undefined when the node lacks it.
 *
 * @example
 * ```ts
 * attributeList(zipMap, "classlabels_int64s"); // ["0", "1", "2"]
 * ```
 */
export function attributeList(node: NodeProto, name: string): string[] | undefined {
  const a = node.attribute?.find((x) => x.name === name);
  if (a === undefined) return undefined;
  if (a.strings && a.strings.length > 0) return a.strings.map((s) => UTF8.decode(s));
  if (a.ints && a.ints.length > 0) return a.ints.map((i) => i.toString());
  return [];
}

/**
 * An int64 or int32 tensor's values as decimal text (int64 kept exact, from
 * `int64_data`, `int32_data` or little-endian `raw_data`), or undefined for
 * any other type.
 *
 * @example
 * ```ts
 * intValues(graph.initializer.find((t) => t.name === "target_index")); // ["2"]
 * ```
 */
export function intValues(tensor: TensorProto | undefined): string[] | undefined {
  if (tensor === undefined) return undefined;
  const type = tensor.dataType;
  if (type !== INT64 && type !== INT32) return undefined;
  if (tensor.rawData && tensor.rawData.length > 0) {
    const raw = tensor.rawData;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const size = type === INT64 ? 8 : 4;
    return Array.from(
      { length: Math.floor(raw.byteLength / size) },
      (_, i) => String(size === 8 ? view.getBigInt64(i * 8, true) : view.getInt32(i * 4, true)),
    );
  }
  const values = type === INT64 ? tensor.int64Data : tensor.int32Data;
  return (values ?? []).map((v) => v.toString());
}

/**
 * The element type of a graph input or output's tensor (a `TensorProto.DataType`), or undefined for a
 * sequence or map.
 *
 * @example
 * ```ts
 * elemType(graph.input[0]) === STRING;
 * ```
 */
export function elemType(value: ValueInfoProto | undefined): number | undefined {
  return value?.type?.tensorType?.elemType;
}

/**
 * The dimensions of a graph value's tensor: a number for a fixed one, undefined for a dynamic one; undefined
 * altogether when the shape is not given.
 *
 * @example
 * ```ts
 * tensorDims(graph.input[0]); // [undefined, 1]
 * ```
 */
export function tensorDims(value: ValueInfoProto | undefined): (number | undefined)[] | undefined {
  const dims = value?.type?.tensorType?.shape?.dim;
  if (!dims) return undefined;
  return dims.map((d) => {
    const n = d.dimValue == null ? NaN : Number(d.dimValue);
    return n > 0 ? n : undefined;
  });
}

/**
 * Whether a model's bytes hold an ASCII text anywhere (a domain's name, an attribute's key): a graph that cannot hold
 * what a caller looks for is not read at all.
 *
 * @example
 * ```ts
 * holdsText(await Deno.readFile("model.onnx"), "ai.onnx.ml"); // true for a scikit-learn export
 * ```
 */
export function holdsText(bytes: Uint8Array, text: string): boolean {
  const first = text.charCodeAt(0);
  const last = bytes.length - text.length;
  // The typed array's own indexOf runs natively; the rest of the text is compared where its first byte is.
  for (let i = bytes.indexOf(first); i >= 0 && i <= last; i = bytes.indexOf(first, i + 1)) {
    let k = 1;
    while (k < text.length && bytes[i + k] === text.charCodeAt(k)) k++;
    if (k === text.length) return true;
  }
  return false;
}

const UTF8 = new TextDecoder();

/** A cursor over one message's bytes. */
class Reader {
  pos = 0;
  #view?: DataView;
  constructor(readonly buf: Uint8Array) {}

  /** A varint up to 2^53 (tags, lengths, enums, int32). */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.buf.length) throw new RangeError("truncated varint");
      const b = this.buf[this.pos++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
      if (scale > 2 ** 63) throw new RangeError("varint longer than 10 bytes");
    }
  }

  /**
   * A varint as a signed 64-bit integer, exact: a number when it ends within 7 bytes (below 2^49: sizes, indices,
   * most categories), else a bigint. BigInt arithmetic on every byte made a graph's long int64 lists the slowest
   * part of reading it.
   */
  int64(): number | bigint {
    const start = this.pos;
    let value = 0;
    let scale = 1;
    for (let k = 0; k < 7; k++) {
      if (this.pos >= this.buf.length) throw new RangeError("truncated varint");
      const b = this.buf[this.pos++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    this.pos = start;
    return this.bigInt64();
  }

  /** A varint as a signed 64-bit bigint. */
  bigInt64(): bigint {
    let value = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new RangeError("truncated varint");
      const b = this.buf[this.pos++];
      value |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asIntN(64, value);
      shift += 7n;
      if (shift > 63n) throw new RangeError("varint longer than 10 bytes");
    }
  }

  /** A varint as a signed 32-bit integer (negative int32s are written as 10-byte varints). */
  int32(): number {
    const v = this.int64();
    // `| 0` wraps a number to 32 bits as BigInt.asIntN(32) does a bigint.
    return typeof v === "number" ? v | 0 : Number(BigInt.asIntN(32, v));
  }

  /** A length-delimited field's bytes (a view, not a copy). */
  bytes(): Uint8Array {
    const n = this.varint();
    const end = this.pos + n;
    if (end > this.buf.length) throw new RangeError("truncated field");
    const out = this.buf.subarray(this.pos, end);
    this.pos = end;
    return out;
  }

  /**
   * Skips a repeated scalar field's values: a packed payload (wire type 2), added to `runs` as one run whose tag is 0,
   * or the run of unpacked values that starts here (see {@linkcode Reader.runOf}).
   */
  run(wire: number, tag: number, runs: number[]): void {
    if (wire !== 2) return this.runOf(wire, tag, runs);
    const n = this.varint();
    runs.push(this.pos, this.pos + n, 0);
    this.pos += n;
    if (this.pos > this.buf.length) throw new RangeError("truncated field");
  }

  /**
   * Skips one value of wire type `wire` and the run of values of the same one-byte `tag` right after it (proto2,
   * which onnx.proto is, writes a repeated field unpacked: a tag before each value; strings always are), adding the
   * run to `runs` as its start, its end and that tag. One loop over a tree ensemble's millions of node ids, or an
   * encoder's vocabulary, rather than a call per value, is soon compiled; and no view is made of a string skipped.
   */
  runOf(wire: number, tag: number, runs: number[]): void {
    const start = this.pos;
    this.skip(wire);
    while (this.pos < this.buf.length && this.buf[this.pos] === tag) {
      this.pos++;
      this.skip(wire);
    }
    runs.push(start, this.pos, tag);
  }

  string(): string {
    return UTF8.decode(this.bytes());
  }

  float(): number {
    if (this.pos + 4 > this.buf.length) throw new RangeError("truncated float");
    // One view for the reader, not one a float: a list of floats is read one after the other.
    this.#view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    const v = this.#view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) {
      // Not `this.pos += this.varint()`: that adds to the position from before the length was read.
      const n = this.varint();
      this.pos += n;
    } else if (wire === 5) this.pos += 4;
    else throw new RangeError(`unsupported wire type ${wire}`);
    if (this.pos > this.buf.length) throw new RangeError("truncated field");
  }

  /** A repeated scalar field's values: one value, or (wire type 2) a packed run of them. */
  repeated<T>(wire: number, read: () => T, into: T[]): T[] {
    if (wire !== 2) {
      into.push(read());
      return into;
    }
    const end = this.varint() + this.pos;
    if (end > this.buf.length) throw new RangeError("truncated field");
    while (this.pos < end) into.push(read());
    return into;
  }
}

/** Calls `field` for each field of a message; fields it answers false for are skipped. */
function fields(buf: Uint8Array, field: (number: number, r: Reader, wire: number) => boolean): void {
  const r = new Reader(buf);
  while (r.pos < buf.length) {
    const tag = r.varint();
    const wire = tag % 8;
    const number = Math.floor(tag / 8);
    if (number === 0) throw new RangeError("field number 0");
    if (!field(number, r, wire)) r.skip(wire);
  }
}

function readGraph(buf: Uint8Array): GraphProto {
  const g: GraphProto = {};
  fields(buf, (field, r) => {
    if (field === 1) (g.node ??= []).push(readNode(r.bytes()));
    else if (field === 5) (g.initializer ??= []).push(readTensor(r.bytes()));
    else if (field === 15) (g.sparseInitializer ??= []).push(readSparse(r.bytes()));
    else if (field === 11) (g.input ??= []).push(readValueInfo(r.bytes()));
    else if (field === 12) (g.output ??= []).push(readValueInfo(r.bytes()));
    else return false;
    return true;
  });
  return g;
}

function readFunctionNodes(buf: Uint8Array): NodeProto[] {
  const nodes: NodeProto[] = [];
  fields(buf, (field, r) => {
    if (field !== 7) return false;
    nodes.push(readNode(r.bytes()));
    return true;
  });
  return nodes;
}

function readNode(buf: Uint8Array): NodeProto {
  const n: NodeProto = {};
  fields(buf, (field, r) => {
    if (field === 1) (n.input ??= []).push(r.string());
    else if (field === 2) (n.output ??= []).push(r.string());
    else if (field === 3) n.name = r.string();
    else if (field === 4) n.opType = r.string();
    else if (field === 7) n.domain = r.string();
    else if (field === 5) (n.attribute ??= []).push(readAttribute(r.bytes()));
    else return false;
    return true;
  });
  return n;
}

/** The tags of `AttributeProto.floats` (field 7, 32-bit), `ints` (8, varint) and `strings` (9, length-delimited). */
const FLOATS_TAG = (7 << 3) | 5;
const INTS_TAG = (8 << 3) | 0;
const STRINGS_TAG = (9 << 3) | 2;

/**
 * An attribute's lists (`floats`, `ints`, `strings`) are decoded when first read, from where their bytes are: a tree
 * ensemble's millions of node values and ids, or an encoder's vocabulary, are most of a graph's bytes, and score
 * reads a few small lists (class labels, categories) off a graph.
 */
function readAttribute(buf: Uint8Array): AttributeProto {
  const a: AttributeProto = {};
  // Where the lists' runs of values are (see Reader.run): an attribute without a list has none.
  const floats: number[] = [];
  const ints: number[] = [];
  const strings: number[] = [];
  fields(buf, (field, r, wire) => {
    if (field === 1) a.name = r.string();
    else if (field === 2 && wire === 5) a.f = r.float();
    else if (field === 3 && wire === 0) a.i = r.int64();
    else if (field === 4) a.s = r.bytes();
    else if (field === 5) a.t = readTensor(r.bytes());
    else if (field === 6) a.g = readGraph(r.bytes());
    else if (field === 22) a.sparseTensor = readSparse(r.bytes());
    else if (field === 7 && (wire === 2 || wire === 5)) r.run(wire, FLOATS_TAG, floats);
    else if (field === 8 && (wire === 2 || wire === 0)) r.run(wire, INTS_TAG, ints);
    else if (field === 9 && wire === 2) r.runOf(wire, STRINGS_TAG, strings);
    else if (field === 10) (a.tensors ??= []).push(readTensor(r.bytes()));
    else if (field === 11) (a.graphs ??= []).push(readGraph(r.bytes()));
    else if (field === 23) (a.sparseTensors ??= []).push(readSparse(r.bytes()));
    else return false;
    return true;
  });
  if (floats.length > 0) lazy(a, "floats", () => valuesIn(buf, floats, (r) => r.float()));
  if (ints.length > 0) lazy(a, "ints", () => valuesIn(buf, ints, (r) => r.int64()));
  if (strings.length > 0) lazy(a, "strings", () => valuesIn(buf, strings, (r) => r.bytes()));
  return a;
}

/** Gives `a` its `key`, made by `make` when first read (then kept, and writable as a plain field). */
function lazy<K extends "floats" | "ints" | "strings">(a: AttributeProto, key: K, make: () => AttributeProto[K]) {
  Object.defineProperty(a, key, {
    enumerable: true,
    configurable: true,
    get() {
      const value = make();
      Object.defineProperty(a, key, { value, enumerable: true, writable: true, configurable: true });
      return value;
    },
  });
}

/** The values `read` reads from `runs` (start, end, tag between values, ...; see `Reader.run`) of `buf`. */
function valuesIn<T>(buf: Uint8Array, runs: readonly number[], read: (r: Reader) => T): T[] {
  const out: T[] = [];
  for (let i = 0; i < runs.length; i += 3) {
    const [end, tag] = [runs[i + 1], runs[i + 2]];
    // Cut at the run's end: a value that would cross it is truncated.
    const r = new Reader(buf.subarray(0, end));
    r.pos = runs[i];
    while (r.pos < end) {
      out.push(read(r));
      if (tag !== 0 && r.pos < end) r.pos++;
    }
  }
  return out;
}

function readTensor(buf: Uint8Array): TensorProto {
  const t: TensorProto = {};
  fields(buf, (field, r, wire) => {
    if (field === 1) t.dims = r.repeated<number | bigint>(wire, () => r.int64(), t.dims ?? []);
    else if (field === 2 && wire === 0) t.dataType = r.varint();
    else if (field === 5) t.int32Data = r.repeated(wire, () => r.int32(), t.int32Data ?? []);
    else if (field === 7) t.int64Data = r.repeated<number | bigint>(wire, () => r.int64(), t.int64Data ?? []);
    else if (field === 8) t.name = r.string();
    else if (field === 9) t.rawData = r.bytes();
    else if (field === 13) (t.externalData ??= []).push(readEntry(r.bytes()));
    else if (field === 14 && wire === 0) t.dataLocation = r.varint();
    else return false;
    return true;
  });
  return t;
}

function readSparse(buf: Uint8Array): SparseTensorProto {
  const s: SparseTensorProto = {};
  fields(buf, (field, r) => {
    if (field === 1) s.values = readTensor(r.bytes());
    else if (field === 2) s.indices = readTensor(r.bytes());
    else return false;
    return true;
  });
  return s;
}

function readEntry(buf: Uint8Array): { key?: string; value?: string } {
  const e: { key?: string; value?: string } = {};
  fields(buf, (field, r) => {
    if (field === 1) e.key = r.string();
    else if (field === 2) e.value = r.string();
    else return false;
    return true;
  });
  return e;
}

function readValueInfo(buf: Uint8Array): ValueInfoProto {
  const v: ValueInfoProto = {};
  fields(buf, (field, r) => {
    if (field === 1) v.name = r.string();
    else if (field === 2) v.type = readType(r.bytes());
    else return false;
    return true;
  });
  return v;
}

function readType(buf: Uint8Array): NonNullable<ValueInfoProto["type"]> {
  const type: NonNullable<ValueInfoProto["type"]> = {};
  fields(buf, (field, r) => {
    if (field !== 1) return false;
    const tensor: NonNullable<typeof type.tensorType> = {};
    fields(r.bytes(), (f, rr, wire) => {
      if (f === 1 && wire === 0) tensor.elemType = rr.varint();
      else if (f === 2) tensor.shape = { dim: readDims(rr.bytes()) };
      else return false;
      return true;
    });
    type.tensorType = tensor;
    return true;
  });
  return type;
}

function readDims(buf: Uint8Array): { dimValue?: number | bigint; dimParam?: string }[] {
  const dims: { dimValue?: number | bigint; dimParam?: string }[] = [];
  fields(buf, (field, r) => {
    if (field !== 1) return false;
    const d: { dimValue?: number | bigint; dimParam?: string } = {};
    fields(r.bytes(), (f, rr, wire) => {
      if (f === 1 && wire === 0) d.dimValue = rr.int64();
      else if (f === 2) d.dimParam = rr.string();
      else return false;
      return true;
    });
    dims.push(d);
    return true;
  });
  return dims;
}
