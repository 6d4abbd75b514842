"""Converts the course's pickled scikit-learn models to ONNX and writes golden predictions.

Run from the project root (see models/recipe/README.md):
    /usr/bin/python3 models/recipe/convert.py --data data --out models

Needs Debian's python3-sklearn, python3-onnx and python3-pandas (no PyPI, no skl2onnx:
the graphs are built with onnx.helper from the fitted parameters). Writes
models/{ride-duration-linreg,ride-duration-rf,churn}/{model.onnx,model.json},
tests/fixtures/golden/*.csv, tests/fixtures/rides_small.csv and tests/fixtures/churn_small.csv.
"""

# ---------------------------------------------------------------------------------
# A minimal Parquet reader. Debian bookworm packages neither pyarrow nor fastparquet,
# so pandas.read_parquet cannot be used. This reads flat files: Thrift compact
# metadata, uncompressed or GZIP data pages v1 and v2, PLAIN and dictionary
# encodings, optional columns (definition level 0/1), physical types INT32, INT64,
# FLOAT, DOUBLE, BOOLEAN, BYTE_ARRAY. Nulls come back as None.
# ---------------------------------------------------------------------------------
import gzip
import struct
import zlib

# Thrift compact protocol ------------------------------------------------------


class _Thrift:
    def __init__(self, buf, pos=0):
        self.buf = buf
        self.pos = pos

    def byte(self):
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def varint(self):
        shift = 0
        out = 0
        while True:
            b = self.byte()
            out |= (b & 0x7F) << shift
            if not b & 0x80:
                return out
            shift += 7

    def zigzag(self):
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def value(self, t):
        if t == 1:
            return True
        if t == 2:
            return False
        if t == 3:
            v = self.byte()
            return v - 256 if v > 127 else v
        if t in (4, 5, 6):
            return self.zigzag()
        if t == 7:
            v = struct.unpack_from("<d", self.buf, self.pos)[0]
            self.pos += 8
            return v
        if t == 8:
            n = self.varint()
            v = bytes(self.buf[self.pos:self.pos + n])
            self.pos += n
            return v
        if t in (9, 10):
            h = self.byte()
            n = h >> 4
            et = h & 0x0F
            if n == 15:
                n = self.varint()
            if et in (1, 2):  # booleans inside a list are one byte each
                return [self.byte() == 1 for _ in range(n)]
            return [self.value(et) for _ in range(n)]
        if t == 11:
            n = self.varint()
            if n == 0:
                return {}
            kv = self.byte()
            return {self.value(kv >> 4): self.value(kv & 0x0F) for _ in range(n)}
        if t == 12:
            return self.struct()
        raise ValueError(f"thrift type {t}")

    def struct(self):
        out = {}
        fid = 0
        while True:
            h = self.byte()
            if h == 0:
                return out
            delta = h >> 4
            t = h & 0x0F
            fid = fid + delta if delta else self.zigzag()
            out[fid] = self.value(t)


# Page decoding ------------------------------------------------------------------


def _rle_hybrid(buf, pos, end, bit_width, count):
    """Decodes `count` values of the RLE / bit-packed hybrid encoding."""
    out = []
    byte_width = (bit_width + 7) // 8
    mask = (1 << bit_width) - 1
    t = _Thrift(buf, pos)
    while len(out) < count and t.pos < end:
        header = t.varint()
        if header & 1:
            groups = header >> 1
            nbytes = groups * bit_width
            chunk = int.from_bytes(buf[t.pos:t.pos + nbytes], "little")
            t.pos += nbytes
            for i in range(groups * 8):
                out.append((chunk >> (i * bit_width)) & mask)
        else:
            run = header >> 1
            v = int.from_bytes(buf[t.pos:t.pos + byte_width], "little")
            t.pos += byte_width
            out.extend([v] * run)
    return out[:count]


def _plain(buf, pos, ptype, count):
    if ptype == 1:
        return list(struct.unpack_from(f"<{count}i", buf, pos))
    if ptype == 2:
        return list(struct.unpack_from(f"<{count}q", buf, pos))
    if ptype == 4:
        return list(struct.unpack_from(f"<{count}f", buf, pos))
    if ptype == 5:
        return list(struct.unpack_from(f"<{count}d", buf, pos))
    if ptype == 0:
        return [bool((buf[pos + i // 8] >> (i % 8)) & 1) for i in range(count)]
    if ptype == 6:
        out = []
        for _ in range(count):
            n = struct.unpack_from("<i", buf, pos)[0]
            out.append(bytes(buf[pos + 4:pos + 4 + n]))
            pos += 4 + n
        return out
    raise ValueError(f"unsupported parquet physical type {ptype}")


def _decompress(codec, data, size):
    if codec == 0:
        return data
    if codec == 2:
        return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else zlib.decompress(data)
    raise ValueError(f"unsupported parquet codec {codec} (only UNCOMPRESSED and GZIP)")


def _read_chunk(buf, meta, max_def):
    ptype = meta[1]
    codec = meta[4]
    num_values = meta[5]
    pos = meta.get(11) if meta.get(11) is not None else meta[9]
    dictionary = None
    values = []
    while len(values) < num_values:
        t = _Thrift(buf, pos)
        ph = t.struct()
        body = buf[t.pos:t.pos + ph[3]]
        pos = t.pos + ph[3]
        kind = ph[1]
        if kind == 2:  # dictionary page
            data = _decompress(codec, body, ph[2])
            dictionary = _plain(data, 0, ptype, ph[7][1])
            continue
        if kind == 0:  # data page v1
            dh = ph[5]
            n = dh[1]
            enc = dh[2]
            data = _decompress(codec, body, ph[2])
            p = 0
            if max_def:
                ln = struct.unpack_from("<i", data, 0)[0]
                defs = _rle_hybrid(data, 4, 4 + ln, 1, n)
                p = 4 + ln
            else:
                defs = None
        elif kind == 3:  # data page v2
            dh = ph[8]
            n = dh[1]
            enc = dh[4]
            dl = dh[5]
            rl = dh[6]
            levels = body[:rl + dl]
            rest = body[rl + dl:]
            if dh.get(7, True):
                rest = _decompress(codec, rest, ph[2] - rl - dl)
            defs = _rle_hybrid(levels, rl, rl + dl, 1, n) if max_def else None
            data = rest
            p = 0
        else:
            continue
        present = n if defs is None else sum(defs)
        if enc == 0:
            vals = _plain(data, p, ptype, present)
        elif enc in (2, 8):
            bw = data[p]
            idx = _rle_hybrid(data, p + 1, len(data), bw, present)
            vals = [dictionary[i] for i in idx]
        else:
            raise ValueError(f"unsupported parquet encoding {enc}")
        if defs is None:
            values.extend(vals)
        else:
            it = iter(vals)
            values.extend(next(it) if d else None for d in defs)
    return values


def read_parquet(path, columns):
    """Returns {column: list of python values} for the named top-level columns."""
    with open(path, "rb") as f:
        buf = f.read()
    if buf[:4] != b"PAR1" or buf[-4:] != b"PAR1":
        raise ValueError(f"{path}: not a parquet file")
    mlen = struct.unpack_from("<i", buf, len(buf) - 8)[0]
    fmeta = _Thrift(buf, len(buf) - 8 - mlen).struct()
    schema = fmeta[2]
    optional = {}
    for el in schema[1:]:
        if el.get(5):
            raise ValueError("nested parquet schemas are not supported")
        optional[el[4].decode()] = el.get(3) == 1
    out = {c: [] for c in columns}
    for rg in fmeta[4]:
        for cc in rg[1]:
            meta = cc[3]
            name = meta[3][0].decode()
            if name in out:
                out[name].extend(_read_chunk(buf, meta, 1 if optional[name] else 0))
    missing = [c for c in columns if c not in optional]
    if missing:
        raise KeyError(f"{path}: no column {missing}")
    return out


# ---------------------------------------------------------------------------------
# Conversion
# ---------------------------------------------------------------------------------

import argparse
import csv
import datetime
import hashlib
import math
import os
import sys

import numpy as np
import pandas as pd
from onnx import TensorProto, helper

from onnx_parts import ML_OPSET_LINEAR, ML_OPSET_TREES, N, dbl, load_pickle, save_manifest, save_model, tree_layout


def pu_do_nodes(prefix=""):
    """PU_DO = f"{PULocationID}_{DOLocationID}" built in the graph: Cast int64 -> string, StringConcat."""
    sep = helper.make_tensor("underscore", TensorProto.STRING, [1], [b"_"])
    nodes = [
        helper.make_node("Cast", ["PULocationID"], ["pu_str"], to=TensorProto.STRING),
        helper.make_node("Cast", ["DOLocationID"], ["do_str"], to=TensorProto.STRING),
        helper.make_node("StringConcat", ["pu_str", "underscore"], ["pu_"]),
        helper.make_node("StringConcat", ["pu_", "do_str"], ["PU_DO"]),
    ]
    return nodes, [sep]


def ride_inputs():
    return [
        helper.make_tensor_value_info("PULocationID", TensorProto.INT64, [N]),
        helper.make_tensor_value_info("DOLocationID", TensorProto.INT64, [N]),
        helper.make_tensor_value_info("trip_distance", TensorProto.DOUBLE, [N]),
    ]


def pu_do_vocabulary(dv):
    """{PU_DO value: column} and the trip_distance column of a ride DictVectorizer."""
    vocab = {}
    for name, col in dv.vocabulary_.items():
        if name.startswith("PU_DO="):
            vocab[name[len("PU_DO="):]] = col
        elif name != "trip_distance":
            raise ValueError(f"unexpected feature {name!r}")
    return vocab, dv.vocabulary_["trip_distance"]


# ride-duration-linreg ------------------------------------------------------------


def convert_linreg(dv, lr, path):
    vocab, td_col = pu_do_vocabulary(dv)
    coef = np.asarray(lr.coef_, dtype=np.float64).ravel()
    keys = sorted(vocab, key=lambda k: vocab[k])
    nodes, inits = pu_do_nodes()
    inits += [
        dbl("coef_trip_distance", [coef[td_col]]),
        dbl("intercept", [lr.intercept_]),
    ]
    nodes += [
        # coefficient of the PU_DO one-hot column; an unknown PU_DO contributes 0
        helper.make_node(
            "LabelEncoder", ["PU_DO"], ["coef_pu_do"], domain="ai.onnx.ml",
            keys_strings=keys,
            values_tensor=dbl("values", [coef[vocab[k]] for k in keys]),
            default_tensor=dbl("default", [0.0]),
        ),
        helper.make_node("Mul", ["trip_distance", "coef_trip_distance"], ["td_term"]),
        # same order as sklearn's sparse dot: (PU_DO term + trip_distance term) + intercept
        helper.make_node("Add", ["coef_pu_do", "td_term"], ["dot"]),
        helper.make_node("Add", ["dot", "intercept"], ["duration"]),
    ]
    graph = helper.make_graph(
        nodes, "ride_duration_linreg", ride_inputs(),
        [helper.make_tensor_value_info("duration", TensorProto.DOUBLE, [N])], initializer=inits,
    )
    return save_model(graph, ML_OPSET_LINEAR, path,
                      "Ride duration (minutes), LinearRegression of lin_reg.bin over PU_DO one-hot + trip_distance")


# ride-duration-rf ----------------------------------------------------------------


def convert_rf(dv, rf, path):
    vocab, td_col = pu_do_vocabulary(dv)
    n_features = len(dv.feature_names_)
    n_cat = len(vocab)
    if td_col != n_features - 1 or sorted(vocab.values()) != list(range(n_cat)):
        raise ValueError("expected the PU_DO columns first and trip_distance last")
    keys = sorted(vocab, key=lambda k: vocab[k])

    roots, feat, split, true_ids, true_leaf, false_ids, false_leaf, leaf_w = tree_layout(
        rf.estimators_, lambda t, i: float(t.value[i].ravel()[0]))

    nodes, inits = pu_do_nodes()
    inits += [
        helper.make_tensor("depth", TensorProto.INT64, [], [n_cat]),
        helper.make_tensor("onehot_values", TensorProto.FLOAT, [2], [0.0, 1.0]),
        helper.make_tensor("axis1", TensorProto.INT64, [1], [1]),
    ]
    nodes += [
        # PU_DO -> its one-hot column; unknown -> n_cat, which OneHot turns into all zeros
        helper.make_node("LabelEncoder", ["PU_DO"], ["pu_do_col"], domain="ai.onnx.ml",
                         keys_strings=keys, values_int64s=[vocab[k] for k in keys], default_int64=n_cat),
        # (onnxruntime's OneHot has no double values: one-hot in float, exact, then cast)
        helper.make_node("OneHot", ["pu_do_col", "depth", "onehot_values"], ["pu_do_onehot_f32"], axis=-1),
        helper.make_node("Cast", ["pu_do_onehot_f32"], ["pu_do_onehot"], to=TensorProto.DOUBLE),
        # sklearn trees see X as float32: round trip_distance to float32, then compare in double
        helper.make_node("Cast", ["trip_distance"], ["td_f32"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["td_f32"], ["td_f64"], to=TensorProto.DOUBLE),
        helper.make_node("Unsqueeze", ["td_f64", "axis1"], ["td_col"]),
        helper.make_node("Concat", ["pu_do_onehot", "td_col"], ["X"], axis=1),
        helper.make_node(
            "TreeEnsemble", ["X"], ["duration_2d"], domain="ai.onnx.ml",
            aggregate_function=0,  # AVERAGE
            n_targets=1,
            tree_roots=roots,
            nodes_featureids=feat,
            nodes_splits=dbl("nodes_splits", split),
            nodes_modes=helper.make_tensor("nodes_modes", TensorProto.UINT8, [len(feat)], [0] * len(feat)),  # LEQ
            nodes_truenodeids=true_ids,
            nodes_trueleafs=true_leaf,
            nodes_falsenodeids=false_ids,
            nodes_falseleafs=false_leaf,
            leaf_targetids=[0] * len(leaf_w),
            leaf_weights=dbl("leaf_weights", leaf_w),
        ),
        helper.make_node("Squeeze", ["duration_2d", "axis1"], ["duration"]),
    ]
    graph = helper.make_graph(
        nodes, "ride_duration_rf", ride_inputs(),
        [helper.make_tensor_value_info("duration", TensorProto.DOUBLE, [N])], initializer=inits,
    )
    return save_model(graph, ML_OPSET_TREES, path,
                      f"Ride duration (minutes), RandomForestRegressor ({len(rf.estimators_)} trees) of rf_pipeline")


# churn ---------------------------------------------------------------------------

CHURN_COLUMNS = [
    "gender", "SeniorCitizen", "Partner", "Dependents", "tenure", "PhoneService", "MultipleLines",
    "InternetService", "OnlineSecurity", "OnlineBackup", "DeviceProtection", "TechSupport", "StreamingTV",
    "StreamingMovies", "Contract", "PaperlessBilling", "PaymentMethod", "MonthlyCharges", "TotalCharges",
]
CHURN_NUMERIC = ["SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges"]


def convert_churn(dv, lr, path):
    coef = np.asarray(lr.coef_, dtype=np.float64).ravel()
    inputs, nodes, inits, terms = [], [], [], []
    for col in CHURN_COLUMNS:
        key = col.lower()
        if col in CHURN_NUMERIC:
            inputs.append(helper.make_tensor_value_info(col, TensorProto.DOUBLE, [N]))
            x = col
            if col == "TotalCharges":  # blank (NaN) -> 0, as in training
                inits.append(dbl("zero", [0.0]))
                nodes += [
                    helper.make_node("IsNaN", [col], ["totalcharges_nan"]),
                    helper.make_node("Where", ["totalcharges_nan", "zero", col], ["totalcharges_filled"]),
                ]
                x = "totalcharges_filled"
            inits.append(dbl(f"coef_{key}", [coef[dv.vocabulary_[key]]]))
            nodes.append(helper.make_node("Mul", [x, f"coef_{key}"], [f"term_{key}"]))
        else:
            inputs.append(helper.make_tensor_value_info(col, TensorProto.STRING, [N]))
            # normalized values as in training (lower case, ' ' -> '_'); accept both spellings
            mapping = {}
            for name, idx in dv.vocabulary_.items():
                if name.startswith(key + "="):
                    value = name[len(key) + 1:]
                    mapping[value] = coef[idx]
                    mapping.setdefault(value.replace("_", " "), coef[idx])
            keys = sorted(mapping)
            nodes += [
                helper.make_node("StringNormalizer", [col], [f"lower_{key}"], case_change_action="LOWER",
                                 locale="C"),  # en_US.UTF-8, ort's default, is often not installed
                helper.make_node(
                    "LabelEncoder", [f"lower_{key}"], [f"term_{key}"], domain="ai.onnx.ml",
                    keys_strings=keys,
                    values_tensor=dbl(f"values_{key}", [mapping[k] for k in keys]),
                    default_tensor=dbl("default", [0.0]),
                ),
            ]
        terms.append(f"term_{key}")
    inits += [dbl("intercept", [lr.intercept_[0]]), dbl("half", [0.5]), dbl("one", [1.0]), dbl("e", [math.e])]
    nodes += [
        helper.make_node("Sum", terms, ["dot"]),
        helper.make_node("Add", ["dot", "intercept"], ["logit"]),
        # 1 / (1 + e^-logit) with Pow, not Sigmoid or Exp: onnxruntime's vectorised Sigmoid/Exp give a row a
        # last-bit different result depending on its position in the batch; Pow is computed element by element,
        # so a customer scores the same bits alone (serve) as in a batch of thousands (batch).
        helper.make_node("Neg", ["logit"], ["neg_logit"]),
        helper.make_node("Pow", ["e", "neg_logit"], ["exp_neg_logit"]),
        helper.make_node("Add", ["one", "exp_neg_logit"], ["denominator"]),
        helper.make_node("Div", ["one", "denominator"], ["churn_probability"]),
        helper.make_node("GreaterOrEqual", ["churn_probability", "half"], ["churn"]),
    ]
    graph = helper.make_graph(
        nodes, "churn", inputs,
        [
            helper.make_tensor_value_info("churn_probability", TensorProto.DOUBLE, [N]),
            helper.make_tensor_value_info("churn", TensorProto.BOOL, [N]),
        ],
        initializer=inits,
    )
    return save_model(graph, ML_OPSET_LINEAR, path, "Telco customer churn probability, LogisticRegression of churn_model.bin")


# data and golden predictions -----------------------------------------------------


def load_rides(path):
    cols = ["lpep_pickup_datetime", "lpep_dropoff_datetime", "PULocationID", "DOLocationID", "trip_distance"]
    d = read_parquet(path, cols)
    df = pd.DataFrame(d)
    # the course: duration = (dropoff - pickup).total_seconds() / 60, keep 1 <= duration <= 60
    duration = (df.lpep_dropoff_datetime - df.lpep_pickup_datetime) / 1e6 / 60
    keep = (duration >= 1) & (duration <= 60)
    return df, keep


def ride_dicts(df):
    return [
        {"PU_DO": f"{pu}_{do}", "trip_distance": td}
        for pu, do, td in zip(df.PULocationID, df.DOLocationID, df.trip_distance)
    ]


def iso(us):
    return (datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=int(us))).isoformat()


def write_ride_golden(path, df, pred):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["row", "PULocationID", "DOLocationID", "trip_distance", "duration"])
        for row, pu, do, td, y in zip(df.index, df.PULocationID, df.DOLocationID, df.trip_distance, pred):
            w.writerow([row, pu, do, repr(float(td)), repr(float(y))])


def churn_frame(path):
    """The course's preprocessing of the telco CSV."""
    df = pd.read_csv(path)
    df.columns = df.columns.str.lower().str.replace(" ", "_")
    categorical = list(df.dtypes[df.dtypes == "object"].index)
    for c in categorical:
        df[c] = df[c].str.lower().str.replace(" ", "_")
    df.totalcharges = pd.to_numeric(df.totalcharges, errors="coerce").fillna(0)
    return df[[c.lower() for c in CHURN_COLUMNS]]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def convert_own(args):
    from dictvectorizer import ConvertError, convert_pickle, parse_join
    if args.out is None:
        sys.exit("convert.py: --pickle needs --out, the folder to write model.onnx and model.json to")
    try:
        path, manifest = convert_pickle(
            args.pickle, args.out, name=args.name, description=args.description, version=args.version,
            target=args.target, joins=[parse_join(j) for j in args.join], separator=args.join_separator,
        )
    except ConvertError as err:
        sys.exit(f"convert.py: {args.pickle}: {err}")
    print(f"{path}: {os.path.getsize(path)} bytes, sha256 {sha256(path)[:12]}; "
          f"inputs {', '.join(manifest['inputs'])}; outputs {', '.join(manifest['outputs'])}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.path.join(root, "data"), help="the course's rides, customers and pickles (data/README.md)")
    ap.add_argument("--out", help="where the model folders go (default: models); with --pickle, the model's folder")
    ap.add_argument("--fixtures", default=os.path.join(root, "tests", "fixtures"), help="golden and small fixtures")
    own = ap.add_argument_group("your own model", "convert one course-style pickle instead of the shipped models")
    own.add_argument("--pickle", help="a pickled (DictVectorizer, model) tuple or Pipeline, or an MLflow sklearn "
                                      "model folder")
    own.add_argument("--name", help="the model's name (default: the --out folder's name)")
    own.add_argument("--description", help="the manifest's description")
    own.add_argument("--version", help="the manifest's version (default: the MLflow run id, else the file's hash)")
    own.add_argument("--target", default="prediction",
                     help="the output's name (a classifier adds TARGET_probability); default: prediction")
    own.add_argument("--join", action="append", default=[], metavar="KEY=COLUMN[:TYPE],...",
                     help="build the DictVectorizer's KEY in the graph by joining columns (TYPE: string, int64, "
                          "double; default string), e.g. PU_DO=PULocationID:int64,DOLocationID:int64")
    own.add_argument("--join-separator", default="_", help="what --join puts between the columns (default: _)")
    args = ap.parse_args()
    if args.pickle is not None:
        return convert_own(args)
    args.out = args.out or os.path.join(root, "models")
    data, out, fixtures = args.data, args.out, args.fixtures
    golden = os.path.join(fixtures, "golden")
    os.makedirs(golden, exist_ok=True)

    # rides -----------------------------------------------------------------------
    rides, keep = load_rides(os.path.join(data, "green_tripdata_2021-02.parquet"))
    filtered = rides[keep]
    X_rows = ride_dicts(filtered)
    print(f"green 2021-02: {len(rides)} rows, {len(filtered)} with 1 <= duration <= 60 min")

    small = filtered.head(200)
    with open(os.path.join(fixtures, "rides_small.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["row", "lpep_pickup_datetime", "lpep_dropoff_datetime", "PULocationID", "DOLocationID",
                    "trip_distance"])
        for row, r in small.iterrows():
            w.writerow([row, iso(r.lpep_pickup_datetime), iso(r.lpep_dropoff_datetime), int(r.PULocationID),
                        int(r.DOLocationID), repr(float(r.trip_distance))])

    dv, lr = load_pickle(os.path.join(data, "course", "lin_reg.bin"))
    folder = os.path.join(out, "ride-duration-linreg")
    p = convert_linreg(dv, lr, os.path.join(folder, "model.onnx"))
    save_manifest(folder, {
        "name": "ride-duration-linreg",
        "description": "Predicted NYC green taxi ride duration in minutes, from the course's lin_reg.bin "
                       "(DictVectorizer + LinearRegression)",
        # A ride without a distance has no meaningful duration: reject it rather than predict from NaN.
        "inputs": {"PULocationID": {}, "DOLocationID": {}, "trip_distance": {"required": True}},
        "outputs": {"duration": {}},
    })
    pred = lr.predict(dv.transform(X_rows))
    write_ride_golden(os.path.join(golden, "ride-duration-linreg.green_2021-02.csv"), filtered, pred)
    check = lr.predict(dv.transform([{"PU_DO": "10_50", "trip_distance": 40}]))[0]
    print(f"{p}: {os.path.getsize(p)} bytes, sha256 {sha256(p)[:12]}; published check 10_50/40 -> {check!r}")

    pipe = load_pickle(os.path.join(data, "course", "rf_pipeline", "model.pkl"))
    dv, rf = pipe.steps[0][1], pipe.steps[-1][1]
    rf.n_jobs = 1  # the pickle says -1: threads sum the trees in a varying order, the last bit would vary
    folder = os.path.join(out, "ride-duration-rf")
    p = convert_rf(dv, rf, os.path.join(folder, "model.onnx"))
    save_manifest(folder, {
        "name": "ride-duration-rf",
        "version": "e1efc53e9bd149078b0c12aeaa6365df",
        "description": "Predicted NYC green taxi ride duration in minutes, from the course's MLflow rf_pipeline "
                       "(DictVectorizer + RandomForestRegressor, 100 trees)",
        # A ride without a distance has no meaningful duration: reject it rather than predict from NaN.
        "inputs": {"PULocationID": {}, "DOLocationID": {}, "trip_distance": {"required": True}},
        "outputs": {"duration": {}},
    })
    pred = pipe.predict(X_rows)
    write_ride_golden(os.path.join(golden, "ride-duration-rf.green_2021-02.csv"), filtered, pred)
    check = pipe.predict([{"PU_DO": "130_205", "trip_distance": 3.66}])[0]
    print(f"{p}: {os.path.getsize(p)} bytes, sha256 {sha256(p)[:12]}; published check 130_205/3.66 -> {check!r}")

    # churn -----------------------------------------------------------------------
    csv_path = os.path.join(data, "telco_customer_churn.csv")
    with open(csv_path, newline="") as f:
        lines = f.readlines()
    with open(os.path.join(fixtures, "churn_small.csv"), "w", newline="") as f:
        f.writelines(lines[:51])
    dv, lr = load_pickle(os.path.join(data, "course", "churn_model.bin"))
    folder = os.path.join(out, "churn")
    p = convert_churn(dv, lr, os.path.join(folder, "model.onnx"))
    save_manifest(folder, {
        "name": "churn",
        "description": "Telco customer churn probability and churn (p >= 0.5), from the course's churn_model.bin "
                       "(DictVectorizer + LogisticRegression C=1.0)",
        "inputs": {c: ({"aliases": [c.lower()]} if c.lower() != c else {}) for c in CHURN_COLUMNS},
        "outputs": {"churn_probability": {}, "churn": {}},
    })
    df = churn_frame(csv_path)
    prob = lr.predict_proba(dv.transform(df.to_dict(orient="records")))[:, 1]
    with open(os.path.join(golden, "churn.telco.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["row", "churn_probability"])
        for row, y in zip(df.index, prob):
            w.writerow([row, repr(float(y))])
    print(f"{p}: {os.path.getsize(p)} bytes, sha256 {sha256(p)[:12]}; published check first customer -> {prob[0]!r}")


if __name__ == "__main__":
    main()
