"""Builds the two models of bench/wide_bench.ts, the same linear model over 100 float features fed two ways.

    /usr/bin/python3 bench/make_wide_models.py

- bench/models/wide100/model.onnx: one input "features" float32 [N, 100] (as skl2onnx, XGBoost or PyTorch
  exports a tabular model), its 100 columns named f0..f99 by model.json;
- bench/models/wide100-named/model.onnx: 100 inputs f0..f99 float32 [N, 1] (as a ColumnTransformer export),
  concatenated in the graph.
Both compute features . w + b (MatMul + Add) with the same weights: deterministic, no randomness.
"""
import json
import os

import onnx
from onnx import TensorProto, helper

K = 100
here = os.path.dirname(os.path.abspath(__file__))
weights = [((i * 37) % 17 - 8) / 10 for i in range(K)]
columns = [f"f{i}" for i in range(K)]


def save(folder, graph, manifest):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="score bench")
    model.ir_version = 8
    path = os.path.join(here, "models", folder)
    os.makedirs(path, exist_ok=True)
    onnx.save(model, os.path.join(path, "model.onnx"))
    with open(os.path.join(path, "model.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


inits = [
    helper.make_tensor("w", TensorProto.FLOAT, [K, 1], weights),
    helper.make_tensor("b", TensorProto.FLOAT, [1], [0.5]),
]
linear = [
    helper.make_node("MatMul", ["features", "w"], ["xw"]),
    helper.make_node("Add", ["xw", "b"], ["prediction"]),
]
output = [helper.make_tensor_value_info("prediction", TensorProto.FLOAT, ["N", 1])]

save(
    "wide100",
    helper.make_graph(linear, "wide100", [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", K])],
                      output, initializer=inits),
    {"description": "bench: a linear model over one [N, 100] float input", "inputs": {"features": {"columns": columns}}},
)
save(
    "wide100-named",
    helper.make_graph([helper.make_node("Concat", columns, ["features"], axis=1)] + linear, "wide100_named",
                      [helper.make_tensor_value_info(c, TensorProto.FLOAT, ["N", 1]) for c in columns], output,
                      initializer=inits),
    {"description": "bench: the same linear model over 100 named [N, 1] float inputs"},
)
