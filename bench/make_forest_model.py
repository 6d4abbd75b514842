"""Builds the large model of `make bench-start`: a tree ensemble of the size users' forests reach.

    /usr/bin/python3 bench/make_forest_model.py OUT_DIR [TREES DEPTH]

OUT_DIR/model.onnx: one TreeEnsembleRegressor (ai.onnx.ml) of TREES complete trees of DEPTH levels (100 and 13 by
default: 1.64M nodes, ~53 MB), over one input "x" float32 [N, 10]; split features, thresholds and leaf weights from a
seeded generator, so every run builds the same bytes.
"""
import os
import random
import sys

import onnx
from onnx import TensorProto, helper

out = sys.argv[1]
trees = int(sys.argv[2]) if len(sys.argv) > 2 else 100
depth = int(sys.argv[3]) if len(sys.argv) > 3 else 13
features = 10
rng = random.Random(1)
internal, total = 2**depth - 1, 2 ** (depth + 1) - 1
nodes = {k: [] for k in ["treeids", "nodeids", "featureids", "values", "modes", "truenodeids", "falsenodeids"]}
targets = {k: [] for k in ["treeids", "nodeids", "weights"]}
for t in range(trees):
    for n in range(total):
        leaf = n >= internal
        nodes["treeids"].append(t)
        nodes["nodeids"].append(n)
        nodes["featureids"].append(0 if leaf else rng.randrange(features))
        nodes["values"].append(0.0 if leaf else rng.random())
        nodes["modes"].append("LEAF" if leaf else "BRANCH_LEQ")
        nodes["truenodeids"].append(0 if leaf else 2 * n + 1)
        nodes["falsenodeids"].append(0 if leaf else 2 * n + 2)
        if leaf:
            targets["treeids"].append(t)
            targets["nodeids"].append(n)
            targets["weights"].append(rng.random() / trees)
node = helper.make_node(
    "TreeEnsembleRegressor",
    ["x"],
    ["y"],
    domain="ai.onnx.ml",
    n_targets=1,
    aggregate_function="SUM",
    post_transform="NONE",
    target_ids=[0] * len(targets["treeids"]),
    **{f"nodes_{k}": v for k, v in nodes.items()},
    **{f"target_{k}": v for k, v in targets.items()},
)
graph = helper.make_graph(
    [node],
    "forest",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, features])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])],
)
model = helper.make_model(
    graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("ai.onnx.ml", 3)], producer_name="score bench"
)
model.ir_version = 8
os.makedirs(out, exist_ok=True)
onnx.save(model, os.path.join(out, "model.onnx"))
