"""Converts a course-style pickle, a fitted DictVectorizer and the model behind it, to ONNX.

    /usr/bin/python3 models/recipe/convert.py --pickle my_model.bin --out models/my-model

The pickle holds a tuple (DictVectorizer, model), a scikit-learn Pipeline of the two, or is an MLflow
sklearn model folder (its model.pkl). The DictVectorizer becomes part of the graph: each of its keys is an
input (a number key a double input, a `key=value` one-hot key a string input), so callers send the raw
dict the DictVectorizer was given, not a feature matrix. `joins` build a key from other columns in the
graph (the course's PU_DO = f"{PULocationID}_{DOLocationID}").
"""
import os

import numpy as np
from onnx import TensorProto, helper

from onnx_parts import ML_OPSET_LINEAR, ML_OPSET_TREES, N, dbl, load_pickle, save_manifest, save_model, tree_layout

LINEAR = ["LinearRegression", "Ridge", "Lasso", "ElasticNet", "LogisticRegression"]
TREES = [
    "RandomForestRegressor", "RandomForestClassifier", "ExtraTreesRegressor", "ExtraTreesClassifier",
    "DecisionTreeRegressor", "DecisionTreeClassifier",
]
SUPPORTED = ", ".join(LINEAR + TREES)
INPUT_TYPES = {"string": TensorProto.STRING, "int64": TensorProto.INT64, "double": TensorProto.DOUBLE}


class ConvertError(Exception):
    """What cannot be converted, said so that the user knows what to change."""


def read_pickle(path):
    """The fitted object of a pickle file, or of an MLflow sklearn model folder; and the MLflow run id."""
    run_id = None
    if os.path.isdir(path):
        mlmodel = os.path.join(path, "MLmodel")
        if not os.path.exists(os.path.join(path, "model.pkl")):
            raise ConvertError(f"a folder without model.pkl (expected an MLflow sklearn model folder)")
        if os.path.exists(mlmodel):
            with open(mlmodel) as f:
                for line in f:
                    if line.startswith("run_id:"):
                        run_id = line.split(":", 1)[1].strip() or None
        path = os.path.join(path, "model.pkl")
    if not os.path.exists(path):
        raise ConvertError("no such file")
    try:
        return load_pickle(path), run_id
    except Exception as err:  # noqa: BLE001 - any unpickling failure means the same to the user
        raise ConvertError(f"cannot be unpickled with this scikit-learn: {type(err).__name__}: {err}")


def split_steps(obj):
    """(DictVectorizer, model) of a tuple or a Pipeline, or a ConvertError naming what is in the way."""
    if type(obj).__name__ == "Pipeline":
        steps = [s for _, s in obj.steps if s is not None and s != "passthrough"]
        kind = "the Pipeline"
    elif isinstance(obj, (tuple, list)):
        steps = list(obj)
        kind = "the tuple"
    else:
        raise ConvertError(
            f"holds a {type(obj).__name__}; convert.py needs a DictVectorizer and a model, "
            f"as a tuple (dv, model) or a Pipeline([DictVectorizer, model])"
        )
    names = [type(s).__name__ for s in steps]
    if not steps or names[0] != "DictVectorizer":
        raise ConvertError(
            f"{kind} starts with {names[0] if names else 'nothing'}, not a DictVectorizer "
            f"(it holds {', '.join(names) or 'nothing'})"
        )
    if len(steps) == 1:
        raise ConvertError(f"{kind} holds a DictVectorizer and no model")
    for position, (step, name) in enumerate(zip(steps[1:], names[1:]), start=2):
        if name not in LINEAR + TREES or position != len(steps):
            raise ConvertError(
                f"cannot convert the {name} ({type(step).__module__}), step {position} of {kind}. "
                f"convert.py converts a DictVectorizer followed directly by one of: {SUPPORTED}. "
                f"Other steps (a scaler, a feature selector) must be folded into the model or built in the graph by hand"
            )
    return steps[0], steps[-1]


def parse_join(spec):
    """`PU_DO=PULocationID:int64,DOLocationID:int64` -> ("PU_DO", [("PULocationID", INT64), ...])."""
    key, eq, rest = spec.partition("=")
    if not eq or not key or not rest:
        raise ConvertError(f"--join {spec!r}: expected KEY=COLUMN[:TYPE],COLUMN[:TYPE],...")
    columns = []
    for part in rest.split(","):
        column, _, type_name = part.partition(":")
        type_name = type_name or "string"
        if not column or type_name not in INPUT_TYPES:
            raise ConvertError(f"--join {spec!r}: {part!r} is not COLUMN or COLUMN:TYPE (TYPE: {', '.join(INPUT_TYPES)})")
        columns.append((column, INPUT_TYPES[type_name]))
    return key, columns


class Features:
    """The DictVectorizer's keys: numbers (one column each) and categories (a one-hot column per value)."""

    def __init__(self, dv, joins, separator):
        self.numeric = {}  # key -> feature index
        self.categorical = {}  # key -> {value: feature index}
        for name, index in sorted(dv.vocabulary_.items(), key=lambda kv: kv[1]):
            if dv.separator in name:
                key, value = name.split(dv.separator, 1)
                self.categorical.setdefault(key, {})[value] = int(index)
            else:
                self.numeric[name] = int(index)
        both = sorted(set(self.numeric) & set(self.categorical))
        if both:
            raise ConvertError(f"the DictVectorizer's key {both[0]!r} is both a number and a category")
        self.keys = sorted(list(self.numeric) + list(self.categorical), key=self.first_index)
        self.joins = dict(joins)
        self.separator = separator
        for key in self.joins:
            if key not in self.categorical:
                raise ConvertError(
                    f"--join {key}: the DictVectorizer has no category key {key!r} "
                    f"(category keys: {', '.join(self.categorical) or 'none'})"
                )

    def first_index(self, key):
        return self.numeric[key] if key in self.numeric else min(self.categorical[key].values())

    def inputs(self):
        """The graph's inputs, the nodes that build joined keys, and their initializers."""
        inputs, nodes, inits, seen = [], [], [], set()
        for key in self.keys:
            if key in self.joins:
                for column, elem in self.joins[key]:
                    if column in seen or column in self.numeric or column in self.categorical:
                        raise ConvertError(f"--join {key}: column {column!r} is already an input")
                    seen.add(column)
                    inputs.append(helper.make_tensor_value_info(column, elem, [N]))
                nodes += self.join_nodes(key, inits)
            else:
                elem = TensorProto.DOUBLE if key in self.numeric else TensorProto.STRING
                inputs.append(helper.make_tensor_value_info(key, elem, [N]))
        return inputs, nodes, inits

    def join_nodes(self, key, inits):
        sep = f"join_separator_{key}"
        inits.append(helper.make_tensor(sep, TensorProto.STRING, [1], [self.separator.encode()]))
        nodes, parts = [], []
        for column, elem in self.joins[key]:
            if elem == TensorProto.STRING:
                parts.append(column)
            else:
                parts.append(f"{column}_as_string")
                nodes.append(helper.make_node("Cast", [column], [parts[-1]], to=TensorProto.STRING))
        acc = parts[0]
        for i, part in enumerate(parts[1:]):
            with_sep, joined = f"{key}_join_{i}_sep", (key if i == len(parts) - 2 else f"{key}_join_{i}")
            nodes += [
                helper.make_node("StringConcat", [acc, sep], [with_sep]),
                helper.make_node("StringConcat", [with_sep, part], [joined]),
            ]
            acc = joined
        if len(parts) == 1:
            nodes.append(helper.make_node("Identity", [acc], [key]))
        return nodes

    def category_index(self, key, values, nodes):
        """int64 [N]: the position of the key's value in `values`, len(values) when it is not there."""
        out = f"{key}_position"
        nodes.append(helper.make_node(
            "LabelEncoder", [key], [out], domain="ai.onnx.ml",
            keys_strings=list(values), values_int64s=list(range(len(values))), default_int64=len(values),
        ))
        return out


def classes_tensor(name, classes):
    arr = np.asarray(classes)
    if arr.dtype.kind in "OUS":
        return helper.make_tensor(name, TensorProto.STRING, [len(arr)], [str(c).encode() for c in arr]), TensorProto.STRING
    if arr.dtype.kind == "b":
        return helper.make_tensor(name, TensorProto.BOOL, [len(arr)], [bool(c) for c in arr]), TensorProto.BOOL
    if arr.dtype.kind in "iu":
        return helper.make_tensor(name, TensorProto.INT64, [len(arr)], [int(c) for c in arr]), TensorProto.INT64
    if arr.dtype.kind == "f":
        return dbl(name, arr), TensorProto.DOUBLE
    raise ConvertError(f"class labels of type {arr.dtype} cannot be converted (strings, integers, booleans or floats)")


def linear_scores(model, features, nodes, inits):
    """double [N, C]: the decision function (coef . x + intercept) of a linear model, C = rows of coef_."""
    coef = np.asarray(model.coef_, dtype=np.float64)
    coef = coef.reshape(1, -1) if coef.ndim == 1 else coef
    n_scores = coef.shape[0]
    intercept = np.broadcast_to(np.asarray(model.intercept_, dtype=np.float64).ravel(), (n_scores,))
    inits.append(helper.make_tensor("axis1", TensorProto.INT64, [1], [1]))
    terms = []
    for key in features.keys:
        term = f"{key}_term"
        if key in features.numeric:
            w = f"{key}_coef"
            inits.append(dbl(w, coef[:, features.numeric[key]], [1, n_scores]))
            nodes += [
                helper.make_node("Unsqueeze", [key, "axis1"], [f"{key}_column"]),
                helper.make_node("Mul", [f"{key}_column", w], [term]),
            ]
        else:
            values = features.categorical[key]
            position = features.category_index(key, values, nodes)
            w = f"{key}_coef"
            table = np.vstack([coef[:, list(values.values())].T, np.zeros((1, n_scores))])  # unknown -> 0
            inits.append(dbl(w, table, list(table.shape)))
            nodes.append(helper.make_node("Gather", [w, position], [term], axis=0))
        terms.append(term)
    inits.append(dbl("intercept", intercept, [n_scores]))
    nodes += [
        helper.make_node("Sum", terms, ["dot"]),
        helper.make_node("Add", ["dot", "intercept"], ["scores"]),
    ]
    return "scores", n_scores


def logistic_outputs(model, n_scores, nodes, inits):
    """Probabilities [N, C] from the decision function, as sklearn's predict_proba computes them."""
    ovr = model.multi_class in ("ovr", "warn") or (
        model.multi_class == "auto" and (len(model.classes_) <= 2 or model.solver == "liblinear"))
    # e^x with Pow, not Exp/Sigmoid: their vectorised kernels give a row a last bit that depends on its
    # position in the batch; Pow is computed element by element (same row, same bits, alone or in a batch).
    inits.append(dbl("e", [np.e]))
    if ovr:
        inits.append(dbl("one", [1.0]))
        nodes += [
            helper.make_node("Neg", ["scores"], ["neg_scores"]),
            helper.make_node("Pow", ["e", "neg_scores"], ["exp_neg_scores"]),
            helper.make_node("Add", ["one", "exp_neg_scores"], ["denominator"]),
            helper.make_node("Div", ["one", "denominator"], ["sigmoid"]),
        ]
        if n_scores == 1:
            nodes += [
                helper.make_node("Sub", ["one", "sigmoid"], ["sigmoid_0"]),
                helper.make_node("Concat", ["sigmoid_0", "sigmoid"], ["probabilities"], axis=1),
            ]
            return "probabilities"
        normalize = "sigmoid"
    else:
        nodes += [
            helper.make_node("ReduceMax", ["scores", "axis1"], ["max_score"], keepdims=1),
            helper.make_node("Sub", ["scores", "max_score"], ["shifted"]),
            helper.make_node("Pow", ["e", "shifted"], ["exp_shifted"]),
        ]
        normalize = "exp_shifted"
    nodes += [
        helper.make_node("ReduceSum", [normalize, "axis1"], ["total"], keepdims=1),
        helper.make_node("Div", [normalize, "total"], ["probabilities"]),
    ]
    return "probabilities"


def forest_probabilities_or_value(model, features, nodes, inits, classifier):
    """The trees' average: double [N, 1] for a regressor, [N, C] class probabilities for a classifier."""
    estimators = getattr(model, "estimators_", None) or [model]
    if getattr(model, "n_outputs_", 1) != 1:
        raise ConvertError(f"the {type(model).__name__} predicts {model.n_outputs_} targets; convert.py converts one")
    used = sorted({int(f) for est in estimators for f, l in zip(est.tree_.feature, est.tree_.children_left) if l != -1})
    used = used or [0]
    column_of, blocks = {}, []
    inits.append(helper.make_tensor("axis1", TensorProto.INT64, [1], [1]))
    for key in features.keys:
        if key in features.numeric:
            if features.numeric[key] not in used:
                continue
            column_of[features.numeric[key]] = len(column_of)
            # sklearn trees see X as float32: round to float32, then compare in double
            nodes += [
                helper.make_node("Cast", [key], [f"{key}_f32"], to=TensorProto.FLOAT),
                helper.make_node("Cast", [f"{key}_f32"], [f"{key}_f64"], to=TensorProto.DOUBLE),
                helper.make_node("Unsqueeze", [f"{key}_f64", "axis1"], [f"{key}_block"]),
            ]
        else:
            values = {v: i for v, i in features.categorical[key].items() if i in used}
            if not values:
                continue
            for i in values.values():
                column_of[i] = len(column_of)
            position = features.category_index(key, values, nodes)
            inits += [
                helper.make_tensor(f"{key}_depth", TensorProto.INT64, [], [len(values)]),
                helper.make_tensor("onehot_values", TensorProto.FLOAT, [2], [0.0, 1.0]),
            ]
            # an unknown value's position is len(values), which OneHot turns into all zeros
            nodes += [
                helper.make_node("OneHot", [position, f"{key}_depth", "onehot_values"], [f"{key}_onehot"], axis=-1),
                helper.make_node("Cast", [f"{key}_onehot"], [f"{key}_block"], to=TensorProto.DOUBLE),
            ]
        blocks.append(f"{key}_block")
    inits[:] = list({t.name: t for t in inits}.values())  # onehot_values once
    nodes.append(helper.make_node("Concat", blocks, ["X"], axis=1))

    def ensemble(output, leaf_value):
        roots, feat, split, true_ids, true_leaf, false_ids, false_leaf, leaf_w = tree_layout(
            estimators, leaf_value, column_of.__getitem__)
        nodes.append(helper.make_node(
            "TreeEnsemble", ["X"], [output], domain="ai.onnx.ml",
            aggregate_function=0,  # AVERAGE
            n_targets=1,
            tree_roots=roots,
            nodes_featureids=feat,
            nodes_splits=dbl(f"{output}_splits", split),
            nodes_modes=helper.make_tensor(f"{output}_modes", TensorProto.UINT8, [len(feat)], [0] * len(feat)),
            nodes_truenodeids=true_ids,
            nodes_trueleafs=true_leaf,
            nodes_falsenodeids=false_ids,
            nodes_falseleafs=false_leaf,
            leaf_targetids=[0] * len(leaf_w),
            leaf_weights=dbl(f"{output}_leaf_weights", leaf_w),
        ))

    if not classifier:
        ensemble("scores", lambda t, i: float(t.value[i].ravel()[0]))
        return "scores"

    # A tree's probability is its leaf's class counts over their sum; one ensemble per class (a TreeEnsemble
    # leaf feeds one target).
    def share(c):
        def leaf(t, i):
            counts = t.value[i][0]
            total = counts.sum()
            return float(counts[c] / total) if total else 0.0
        return leaf

    per_class = []
    for c in range(len(model.classes_)):
        ensemble(f"probability_{c}", share(c))
        per_class.append(f"probability_{c}")
    nodes.append(helper.make_node("Concat", per_class, ["probabilities"], axis=1))
    return "probabilities"


def convert_pickle(pickle_path, out, name=None, description=None, version=None, target="prediction", joins=(),
                   separator="_"):
    """Writes out/model.onnx and out/model.json from a course-style pickle; returns (onnx path, manifest)."""
    obj, run_id = read_pickle(pickle_path)
    dv, model = split_steps(obj)
    model_class = type(model).__name__
    features = Features(dv, joins, separator)
    inputs, nodes, inits = features.inputs()
    classifier = hasattr(model, "classes_")
    if model_class in LINEAR:
        scores, n_scores = linear_scores(model, features, nodes, inits)
        if not classifier and n_scores != 1:
            raise ConvertError(f"the {model_class} predicts {n_scores} targets; convert.py converts one")
        probabilities = logistic_outputs(model, n_scores, nodes, inits) if classifier else None
        ml_opset = ML_OPSET_LINEAR
    else:
        scores = forest_probabilities_or_value(model, features, nodes, inits, classifier)
        probabilities = scores if classifier else None
        ml_opset = ML_OPSET_TREES

    outputs, manifest_outputs = [], {}
    if not classifier:
        nodes.append(helper.make_node("Squeeze", [scores, "axis1"], [target]))
        outputs.append(helper.make_tensor_value_info(target, TensorProto.DOUBLE, [N]))
        manifest_outputs[target] = {}
    else:
        classes, label_type = classes_tensor("classes", model.classes_)
        inits.append(classes)
        # the label as sklearn's predict gives it: the first class of highest score
        if model_class == "LogisticRegression" and len(model.classes_) == 2:
            # one score column: predict is classes_[score > 0]
            inits.append(dbl("zero", [0.0]))
            nodes += [
                helper.make_node("Squeeze", ["scores", "axis1"], ["score"]),
                helper.make_node("Greater", ["score", "zero"], ["positive"]),
                helper.make_node("Cast", ["positive"], ["class_index"], to=TensorProto.INT64),
            ]
        else:
            nodes.append(helper.make_node("ArgMax", [probabilities if model_class in TREES else scores],
                                          ["class_index"], axis=1, keepdims=0))
        nodes.append(helper.make_node("Gather", ["classes", "class_index"], [target], axis=0))
        outputs.append(helper.make_tensor_value_info(target, label_type, [N]))
        manifest_outputs[target] = {}
        probability = f"{target}_probability"
        if len(model.classes_) == 2:
            # the course's answer: the probability of the second class (churn_probability = predict_proba[:, 1])
            inits.append(helper.make_tensor("second", TensorProto.INT64, [], [1]))
            nodes.append(helper.make_node("Gather", [probabilities, "second"], [probability], axis=1))
            outputs.append(helper.make_tensor_value_info(probability, TensorProto.DOUBLE, [N]))
            manifest_outputs[probability] = {}
        else:
            nodes.append(helper.make_node("Identity", [probabilities], [probability]))
            outputs.append(helper.make_tensor_value_info(probability, TensorProto.DOUBLE, [N, len(model.classes_)]))
            manifest_outputs[probability] = {"labels": [f"{probability}_{c}" for c in model.classes_]}

    internal = {t.name for t in inits} | {o for n in nodes for o in n.output}
    clash = sorted({i.name for i in inputs} & internal)
    if clash:
        raise ConvertError(f"the input {clash[0]!r} has the name of a tensor inside the graph; rename that key")
    name = name or os.path.basename(os.path.normpath(out))
    what = f"{model_class} of {os.path.basename(os.path.normpath(pickle_path))} " \
           f"(DictVectorizer, {len(dv.feature_names_)} features)"
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=inits)
    path = save_model(graph, ml_opset, os.path.join(out, "model.onnx"), what)
    manifest = {"name": name}
    if version or run_id:
        manifest["version"] = version or run_id
    manifest["description"] = description or what
    manifest["inputs"] = {i.name: {} for i in inputs}
    manifest["outputs"] = manifest_outputs
    save_manifest(out, manifest)
    return path, manifest
