"""What every converter of the recipe shares: opsets, saving a model and its manifest, tensors, tree layout.

Used by convert.py (the shipped models) and dictvectorizer.py (a user's own pickle).
"""
import json
import os
import pickle
import warnings

import numpy as np
import onnx
from onnx import TensorProto, helper

N = "N"
OPSET = 20  # StringConcat
ML_OPSET_LINEAR = 4  # LabelEncoder with values_tensor / default_tensor
ML_OPSET_TREES = 5  # TreeEnsemble (and LabelEncoder 4)
IR_VERSION = 9  # the IR version opset 20 needs (Debian's onnx 1.12 would write 8)


def load_pickle(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn version warnings: pickles from 0.24 / 1.0
        with open(path, "rb") as f:
            return pickle.load(f)


def save_model(graph, ml_opset, path, doc):
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("ai.onnx.ml", ml_opset)],
        producer_name="score models/recipe/convert.py",
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save(model, path)
    return path


def save_manifest(folder, manifest):
    with open(os.path.join(folder, "model.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


def dbl(name, values, dims=None):
    values = [float(v) for v in np.ravel(values)]
    return helper.make_tensor(name, TensorProto.DOUBLE, [len(values)] if dims is None else dims, values)


def tree_layout(estimators, leaf_value, feature_of=int):
    """The fitted sklearn trees of `estimators` in the opset-5 TreeEnsemble layout.

    Interior nodes and leaves are numbered apart, depth first. `leaf_value(tree_, node)` gives a leaf's
    weight; `feature_of(sklearn feature index)` the column of the graph's feature matrix that feeds it.
    Returns (roots, featureids, splits, truenodeids, trueleafs, falsenodeids, falseleafs, leaf_weights).
    """
    roots, feat, split, true_ids, true_leaf, false_ids, false_leaf = [], [], [], [], [], [], []
    leaf_w = []
    for est in estimators:
        t = est.tree_
        left, right = t.children_left, t.children_right
        interior = {}
        leaves = {}
        stack = [0]
        order = []
        while stack:  # number the nodes depth first
            i = stack.pop()
            if left[i] == -1:
                leaves[i] = len(leaf_w) + len(leaves)
            else:
                interior[i] = len(feat) + len(interior)
                order.append(i)
                stack.append(right[i])
                stack.append(left[i])
        leaf_order = sorted(leaves, key=leaves.get)
        if not interior:  # a single-leaf tree: one split whose branches both reach the leaf
            roots.append(len(feat))
            feat.append(0)
            split.append(0.0)
            for ids, flags in ((true_ids, true_leaf), (false_ids, false_leaf)):
                ids.append(leaves[0])
                flags.append(1)
        else:
            roots.append(interior[0])
            for i in sorted(order, key=interior.get):
                feat.append(feature_of(int(t.feature[i])))
                split.append(float(t.threshold[i]))  # float64, as sklearn compares it
                for child, ids, flags in ((left[i], true_ids, true_leaf), (right[i], false_ids, false_leaf)):
                    if left[child] == -1:
                        ids.append(leaves[child])
                        flags.append(1)
                    else:
                        ids.append(interior[child])
                        flags.append(0)
        leaf_w.extend(leaf_value(t, i) for i in leaf_order)
    return roots, feat, split, true_ids, true_leaf, false_ids, false_leaf, leaf_w
